"""bpcheck: solve and grade backpropagation homework.

The flow is one-directional: YAML -> validated problem (`spec`) -> two engines
(`engines.symbolic`, `engines.numeric`) -> cross-checked solution (`solve`) ->
renderers (`formats`) -> exit code (`cli`).
"""

__version__ = "0.1.0"
