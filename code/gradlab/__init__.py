"""gradlab: watch gradients vanish and explode, and fix them, in plain numpy.

The package behind the book *Vanishing and Exploding Gradients*. Each submodule
holds one idea:

=====================  =====================================================
``activations``         activation functions and their derivatives
``init``                weight initialisers and gains (PyTorch's conventions)
``nn``                  layers with forward and hand-written backward passes
``losses``              mean squared error and softmax cross-entropy
``optim``               SGD (momentum, weight decay) and Adam
``clip``                gradient clipping by value and by global norm
``gradcheck``           central finite-difference gradient checks
``diagnostics``         per-layer statistics, non-finite detection, recorders
``data``                synthetic data sets and standardisation
``train``               a deterministic training loop with a history
``floating``            overflow and underflow of repeated products per dtype
``products``            products of scalars and random matrices through depth
``deadunits``           dead and inactive rectifier units: measured and predicted
``selfnorm``            the mean/variance map of a layer and SELU's fixed point
``history``             the timeline as data; the 1994 latching trade-off with one unit
``residual``            plain and residual stacks, their mean-field moments
``paths``               residual networks as sums of paths; gradient by path length
``plotting``            the book's figure style and recurring plots
``book``                put computed values into the book's text (glue)
=====================  =====================================================

Examples
--------
>>> import gradlab
>>> sorted(gradlab.__all__)[:3]
['activations', 'book', 'clip']
"""

from . import (
    activations,
    book,
    clip,
    data,
    deadunits,
    diagnostics,
    floating,
    gradcheck,
    history,
    init,
    losses,
    nn,
    optim,
    paths,
    plotting,
    products,
    residual,
    selfnorm,
    train,
)

__version__ = "0.1.0"

__all__ = [
    "activations",
    "book",
    "clip",
    "data",
    "deadunits",
    "diagnostics",
    "floating",
    "gradcheck",
    "history",
    "init",
    "losses",
    "nn",
    "optim",
    "paths",
    "plotting",
    "products",
    "residual",
    "selfnorm",
    "train",
]
