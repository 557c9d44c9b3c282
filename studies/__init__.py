"""The reproduction study (REPRODUCTION.md): experiments as data (``experiments/*.yaml``), the
runner that trains and analyses them through fullspike's public API, the plots, and the report
generator. Not part of the installed package: it runs from a source checkout
(``fullspike reproduce NAME`` finds it, or ``python -m studies NAME``)."""
