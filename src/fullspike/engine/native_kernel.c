/* The "native" neuron kernels: the recurrence and its reverse-time gradient over one segment of
 * time, for float32 (docs/methods.md, "Neurons"; the backward equations are in driver.py).
 *
 * fullspike.engine.native puts the surrogate's gradient (the body that Surrogate.c_grad()
 * gives) in place of FS_SURROGATE_BODY below, defines the neuron's three flags FS_STRICT (fire at
 * h > th rather than h >= th), FS_SOFT (reset by subtraction rather than to vr) and FS_DETACH (no
 * gradient through the reset) as 0 or 1 ahead of it, and compiles the text with the system C
 * compiler (engine/cbuild.py): one small library per surrogate and flag combination, whose loops
 * carry no selects for the other forms. Plain C, no torch headers.
 *
 * The neurons are walked in blocks with the time loop inside, so a block's state stays in cache:
 * forward reads x and writes the spikes (and, on request, the membranes); backward recomputes
 * the block's charged membranes h into a [K, block] scratch buffer, then runs the reverse
 * recurrence and writes the input gradient. The charge is ((decay * v) + (scale * x)) + bias in float32,
 * in the eager reference's order; the build switches off floating-point contraction, so the
 * spikes are the reference's bit for bit. Blocks are shared out over threads that live only
 * for the call.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* e^x in float, within 1.3 ulp for every float x in [-87, 88] (clamped there), in arithmetic
 * that vectorises (libm's expf is a call per value): e^x = 2^n e^r with n = round(x / ln 2),
 * |r| <= ln(2) / 2 from a two-part ln 2 (n ln2_hi is exact), e^r by its Taylor polynomial of
 * degree 7 (remainder below 2^-27 there). Surrogate bodies may use it. */
static inline float fs_exp(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float n = (x * 1.44269504f + round) - round;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682e-6f;
    float p = 1.98412698e-4f;
    p = p * r + 1.38888889e-3f;
    p = p * r + 8.33333333e-3f;
    p = p * r + 4.16666667e-2f;
    p = p * r + 1.66666667e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23; /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* the surrogate gradient at u = h - v_th, with its two parameters */
static inline float fs_surrogate(float u, float p1, float p2) {
    FS_SURROGATE_BODY
}

/* a [K, B, M] operand: element (t, b, m) is p[t * st + b * sb + m * sm] */
typedef struct {
    const float *p;
    int64_t st, sb, sm;
} fs_seq;

typedef struct {
    int64_t K, B, M, block;       /* steps; neurons N = B * M; neurons per block (<= M) */
    fs_seq x, gs, gv;             /* input; gradients of the spikes / membranes (p NULL: zero) */
    const float *v0;              /* [N] membrane before the segment (NULL: at rest, vr) */
    const float *carry;           /* [N] dL/dv from after the segment (NULL: zero) */
    float *out;                   /* spikes (forward) or input gradient (backward), [K, B, M] */
    int64_t out_st, out_sb;       /* with element (t, b, m) at out[t * out_st + b * out_sb + m] */
    float *vs;                    /* [K, N] post-reset membranes (NULL: not kept) */
    float *last;                  /* [N] last membrane (forward) or dL/dv before the segment */
    float *acc_decay, *acc_scale, *acc_bias; /* [N] coefficient-gradient sums (NULL: not needed) */
    float decay, scale, bias, th, vr, p1, p2; /* h = decay * v + scale * x + bias */
    /* x given as a batch norm's input z (x.p points into z): the value at z's storage offset o
     * is fs_norm(z, norm_scale[k], norm_mean[k], norm_bias[k]) with k = (o / group) % channels
     * (norm_scale NULL: x
     * is read as it is) */
    const float *z;               /* the start of z's storage */
    const float *norm_scale, *norm_mean, *norm_bias; /* [channels] (norm_bias NULL: zero) */
    int64_t group, channels;
} fs_args;

/* the row (t, b, m0 .. m0 + len) of s, read in place when its neurons are adjacent */
static const float *fs_row(const fs_seq *s, int64_t t, int64_t b, int64_t m0, int64_t len,
                           float *buf) {
    const float *src = s->p + t * s->st + b * s->sb + m0 * s->sm;
    if (s->sm == 1)
        return src;
    if (s->sm == 0) { /* expanded: one value for the whole row */
        const float value = *src;
        for (int64_t i = 0; i < len; i++)
            buf[i] = value;
    } else {
        for (int64_t i = 0; i < len; i++)
            buf[i] = src[i * s->sm];
    }
    return buf;
}

/* a batch norm's output from its input z, its channel's scale (invstd * weight) and mean, as
 * torch's CPU kernel computes it in its running-statistics form: shift = bias - mean * scale and
 * z * scale + shift, each one fused multiply-add (fullspike.nn.batch_norm rebuilds the same) */
static inline float fs_norm(float z, float scale, float mean, float bias) {
    return fmaf(z, scale, fmaf(-mean, scale, bias));
}

/* the row (t, b, m0 .. m0 + len) of x, from z when x is given as a norm's input, one run of a
 * channel at a time */
static const float *fs_x_row(const fs_args *A, int64_t t, int64_t b, int64_t m0, int64_t len,
                             float *buf) {
    if (!A->norm_scale)
        return fs_row(&A->x, t, b, m0, len, buf);
    const fs_seq *s = &A->x;
    const float *src = s->p + t * s->st + b * s->sb + m0 * s->sm;
    const int64_t o0 = src - A->z, sm = s->sm;
    for (int64_t i = 0; i < len;) {
        const int64_t o = o0 + i * sm, k = (o / A->group) % A->channels;
        int64_t run = sm == 1 ? A->group - o % A->group : 1;
        if (run > len - i)
            run = len - i;
        const float scale = A->norm_scale[k], mean = A->norm_mean[k],
                    bias = A->norm_bias ? A->norm_bias[k] : 0.0f;
        if (sm == 1) { /* (a loop of its own, so that it vectorises) */
            const float *restrict in = src + i;
            float *restrict to = buf + i;
            for (int64_t j = 0; j < run; j++)
                to[j] = fs_norm(in[j], scale, mean, bias);
        } else {
            buf[i] = fs_norm(src[i * sm], scale, mean, bias);
        }
        i += run;
    }
    return buf;
}

/* out[i] = fs_norm(z[i], ...) for a contiguous [n / (group * channels), channels, group] z: what
 * fullspike.engine.native compares with torch's kernel before trusting fs_x_row */
void fs_norm_rows(const float *z, const float *scale, const float *mean, const float *bias,
                  int64_t n, int64_t group, int64_t channels, float *out) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t k = (i / group) % channels;
        out[i] = fs_norm(z[i], scale[k], mean[k], bias ? bias[k] : 0.0f);
    }
}

/* Ask for the cache lines of a row of `len` floats that a later step will read (rw 0) or write
 * (rw 1). A block's rows lie a whole step apart in memory, each on other pages, where the
 * hardware prefetchers do not follow: without this every row starts with a wait on memory
 * (VGG9's neurons: backward 1.6x, forward 1.25x slower). */
static inline void fs_prefetch(const float *p, int64_t len, const int rw) {
    for (int64_t i = 0; i < len; i += 16) {
        if (rw)
            __builtin_prefetch(p + i, 1);
        else
            __builtin_prefetch(p + i, 0);
    }
}

/* how many steps ahead the rows are asked for (1 to 8 measured alike; 2 by a hair) */
#define FS_AHEAD 2

/* fs_prefetch for the row (t, b, m0 ..) of s, when its neurons are adjacent */
static inline void fs_prefetch_row(const fs_seq *s, int64_t t, int64_t b, int64_t m0, int64_t len) {
    if (s->p && s->sm == 1)
        fs_prefetch(s->p + t * s->st + b * s->sb + m0, len, 0);
}

static inline int fs_fire(float h, float th) { return FS_STRICT ? h > th : h >= th; }

/* post-reset membrane: h - th (soft) or vr (hard) where it fires, else h */
static inline float fs_reset(float h, float th, float vr) {
    return fs_fire(h, th) ? (FS_SOFT ? h - th : vr) : h;
}

/* one step over a block: h <- ((decay v) + (scale x)) + bias; out <- the spikes (forward) or h (backward);
 * v <- reset(h) */
static inline __attribute__((always_inline)) void
fs_charge(const fs_args *A, const float *restrict x, float *restrict v, float *restrict out,
          int64_t len, const int spikes) {
    const float decay = A->decay, scale = A->scale, bias = A->bias, th = A->th, vr = A->vr;
    for (int64_t i = 0; i < len; i++) {
        float h = decay * v[i] + scale * x[i];
        h = h + bias;
        const float s = fs_fire(h, th) ? 1.0f : 0.0f;
        out[i] = spikes ? s : h;
        v[i] = fs_reset(h, th, vr);
    }
}

/* one reverse step over a block, in one pass: sg = surrogate(h - th);
 * gh = g_s sg + (g + g_v) dv/dh; g_x = scale gh; g <- decay gh */
static void fs_grad(const fs_args *A, const float *restrict ht, const float *restrict gs,
                    const float *restrict gv, float *restrict g, float *restrict gh,
                    float *restrict gx, int64_t len) {
    const float decay = A->decay, scale = A->scale, th = A->th, vr = A->vr, p1 = A->p1, p2 = A->p2;
    for (int64_t i = 0; i < len; i++) {
        const float h = ht[i];
        const float sg = fs_surrogate(h - th, p1, p2);
        const float keep = fs_fire(h, th) ? 0.0f : 1.0f;
        /* dv_t / dh_t: soft 1 - th sg, hard (1 - s) + (vr - h) sg; without the sg terms when
         * the reset is detached */
        const float dvdh = FS_DETACH ? (FS_SOFT ? 1.0f : keep)
                                     : (FS_SOFT ? 1.0f - th * sg : keep + (vr - h) * sg);
        const float ghi = gs[i] * sg + (g[i] + gv[i]) * dvdh;
        gh[i] = ghi;
        gx[i] = scale * ghi;
        g[i] = decay * ghi;
    }
}

static void fs_start(const fs_args *A, int64_t n0, int64_t len, float *restrict v) {
    if (A->v0)
        memcpy(v, A->v0 + n0, (size_t)len * sizeof(float));
    else
        for (int64_t i = 0; i < len; i++)
            v[i] = A->vr;
}

/* the block after the one being walked, whose first rows are asked for while the current one
 * finishes (with few steps, K = 4, half of each block's rows would otherwise start cold) */
typedef struct {
    int64_t b, m0, len; /* len 0: none */
} fs_next;

static void fs_forward_block(const fs_args *A, int64_t b, int64_t m0, int64_t len, float *work,
                             fs_next nx) {
    const int64_t N = A->B * A->M, n0 = b * A->M + m0;
    float *v = work, *buf = work + A->block;
    fs_start(A, n0, len, v);
    for (int64_t t = 0; t < A->K; t++) {
        if (t + FS_AHEAD < A->K) {
            fs_prefetch_row(&A->x, t + FS_AHEAD, b, m0, len);
            fs_prefetch(A->out + (t + FS_AHEAD) * A->out_st + b * A->out_sb + m0, len, 1);
        } else if (nx.len && t + FS_AHEAD - A->K < A->K) {
            const int64_t u = t + FS_AHEAD - A->K;
            fs_prefetch_row(&A->x, u, nx.b, nx.m0, nx.len);
            fs_prefetch(A->out + u * A->out_st + nx.b * A->out_sb + nx.m0, nx.len, 1);
        }
        fs_charge(A, fs_x_row(A, t, b, m0, len, buf), v,
                  A->out + t * A->out_st + b * A->out_sb + m0, len, 1);
        if (A->vs)
            memcpy(A->vs + t * N + n0, v, (size_t)len * sizeof(float));
    }
    memcpy(A->last + n0, v, (size_t)len * sizeof(float));
}

/* the coefficient-gradient sums of one step: acc_decay += gh v_{t-1}, acc_scale += gh x_t,
 * acc_bias += gh
 * (v_{t-1}: reset(h_{t-1}), or the starting membrane at the first step) */
static void fs_accumulate(const fs_args *A, const float *restrict gh, const float *restrict hp,
                          const float *restrict v_first, int first, const float *restrict x,
                          float *restrict acc_decay, float *restrict acc_scale, float *restrict acc_bias,
                          int64_t len) {
    const float th = A->th, vr = A->vr;
    for (int64_t i = 0; i < len; i++) {
        const float start = v_first[i], reset = fs_reset(hp[i], th, vr);
        const float v_prev = first ? start : reset;
        acc_decay[i] += gh[i] * v_prev;
        acc_scale[i] += gh[i] * x[i];
        acc_bias[i] += gh[i];
    }
}

static void fs_backward_block(const fs_args *A, int64_t b, int64_t m0, int64_t len, float *work,
                              fs_next nx) {
    const int64_t n0 = b * A->M + m0, L = A->block;
    float *h = work;                 /* [K, L] charged membranes */
    float *v_first = h + A->K * L;   /* membrane before the segment */
    float *v = v_first + L;          /* membrane */
    float *g = v + L;                /* dL/dv, carried back in time */
    float *gh = g + L, *zero = gh + L;
    float *buf_s = zero + L, *buf_v = buf_s + L, *buf_x = buf_v + L;
    float *acc = buf_x + L;          /* [3, L] coefficient-gradient sums */
    const int sums = A->acc_decay || A->acc_scale || A->acc_bias;

    fs_start(A, n0, len, v_first);
    memcpy(v, v_first, (size_t)len * sizeof(float));
    for (int64_t t = 0; t < A->K; t++) {
        if (t + FS_AHEAD < A->K) {
            fs_prefetch_row(&A->x, t + FS_AHEAD, b, m0, len);
        } else if (2 * A->K - 1 - t - FS_AHEAD >= 0) { /* the reverse pass's first rows */
            const int64_t u = 2 * A->K - 1 - t - FS_AHEAD;
            fs_prefetch_row(&A->gs, u, b, m0, len);
            fs_prefetch_row(&A->gv, u, b, m0, len);
            fs_prefetch(A->out + u * A->out_st + b * A->out_sb + m0, len, 1);
        }
        fs_charge(A, fs_x_row(A, t, b, m0, len, buf_x), v, h + t * L, len, 0);
    }
    memset(zero, 0, (size_t)len * sizeof(float));
    memset(acc, 0, 3 * (size_t)L * sizeof(float));
    if (A->carry)
        memcpy(g, A->carry + n0, (size_t)len * sizeof(float));
    else
        memset(g, 0, (size_t)len * sizeof(float));

    for (int64_t t = A->K - 1; t >= 0; t--) {
        const float *ht = h + t * L;
        if (t >= FS_AHEAD) {
            fs_prefetch_row(&A->gs, t - FS_AHEAD, b, m0, len);
            fs_prefetch_row(&A->gv, t - FS_AHEAD, b, m0, len);
            fs_prefetch(A->out + (t - FS_AHEAD) * A->out_st + b * A->out_sb + m0, len, 1);
        } else if (nx.len && FS_AHEAD - 1 - t < A->K) { /* the next block's first rows */
            fs_prefetch_row(&A->x, FS_AHEAD - 1 - t, nx.b, nx.m0, nx.len);
        }
        const float *gs = A->gs.p ? fs_row(&A->gs, t, b, m0, len, buf_s) : zero;
        const float *gv = A->gv.p ? fs_row(&A->gv, t, b, m0, len, buf_v) : zero;
        fs_grad(A, ht, gs, gv, g, gh, A->out + t * A->out_st + b * A->out_sb + m0, len);
        if (sums)
            fs_accumulate(A, gh, t > 0 ? ht - L : ht, v_first, t == 0,
                          A->acc_scale ? fs_x_row(A, t, b, m0, len, buf_x) : zero, acc, acc + L,
                          acc + 2 * L, len);
    }
    memcpy(A->last + n0, g, (size_t)len * sizeof(float));
    float *outs[3] = {A->acc_decay, A->acc_scale, A->acc_bias};
    for (int k = 0; k < 3; k++)
        if (outs[k])
            memcpy(outs[k] + n0, acc + k * L, (size_t)len * sizeof(float));
}

typedef struct {
    const fs_args *A;
    int backward;
    int64_t first, stop; /* block indices */
    int status;
} fs_share;

/* block k of the walk: its batch row, first neuron and length */
static fs_next fs_block_at(const fs_args *A, int64_t k, int64_t per_b) {
    const int64_t m0 = (k % per_b) * A->block;
    return (fs_next){k / per_b, m0, A->M - m0 < A->block ? A->M - m0 : A->block};
}

static void *fs_walk(void *arg) {
    fs_share *sh = (fs_share *)arg;
    const fs_args *A = sh->A;
    const int64_t per_b = (A->M + A->block - 1) / A->block;
    const size_t floats = sh->backward ? (size_t)(A->K + 11) * A->block : 2 * (size_t)A->block;
    /* The block buffers are mapped for the call rather than taken from malloc: under glibc, a
     * freed block of 64 KiB or more makes malloc consolidate and trim the top of the heap,
     * handing back memory that the next tensor allocation then faults in again page by page
     * (VGG9's training step, brk growth over 7 steps in fresh processes: 925-2176 MiB with
     * malloc here, 475-1093 MiB with the mapping; its ReLU twin 861-1125 MiB). */
    const size_t bytes = floats * sizeof(float);
    float *work = (float *)mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                -1, 0);
    if (work == MAP_FAILED) {
        sh->status = -1;
        return NULL;
    }
    for (int64_t k = sh->first; k < sh->stop; k++) {
        const fs_next at = fs_block_at(A, k, per_b);
        const fs_next nx = k + 1 < sh->stop ? fs_block_at(A, k + 1, per_b) : (fs_next){0, 0, 0};
        if (sh->backward)
            fs_backward_block(A, at.b, at.m0, at.len, work, nx);
        else
            fs_forward_block(A, at.b, at.m0, at.len, work, nx);
    }
    munmap(work, bytes);
    sh->status = 0;
    return NULL;
}

/* walk every block, shared out over at most `threads` threads; 0 on success, -1 out of memory */
static int fs_run(const fs_args *A, int backward, int threads) {
    const int64_t blocks = A->B * ((A->M + A->block - 1) / A->block);
    if (threads > blocks)
        threads = (int)blocks;
    if (threads < 1)
        threads = 1;
    fs_share shares[64];
    pthread_t ids[64];
    int started[64];
    if (threads > 64)
        threads = 64;
    for (int i = 0; i < threads; i++) {
        shares[i] = (fs_share){A, backward, blocks * i / threads, blocks * (i + 1) / threads, 0};
        started[i] = i > 0 && pthread_create(&ids[i], NULL, fs_walk, &shares[i]) == 0;
    }
    int status = 0;
    for (int i = 0; i < threads; i++) {
        if (started[i])
            pthread_join(ids[i], NULL);
        else
            fs_walk(&shares[i]); /* this thread's own share, or one no thread could take */
        status |= shares[i].status;
    }
    return status;
}

int fs_forward(const fs_args *A, int threads) { return fs_run(A, 0, threads); }

int fs_backward(const fs_args *A, int threads) { return fs_run(A, 1, threads); }
