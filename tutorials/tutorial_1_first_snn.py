"""
Your first SNN
==============

A test.
"""
import torch
import fullspike
print(fullspike.list_models()[:3])
