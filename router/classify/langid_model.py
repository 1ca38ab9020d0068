"""py3langid's model, decompressed in one call so that the GIL stays free meanwhile.

py3langid ships its model as a 4.5 MB LZMA file holding 68 MB of npz, and streams it
through a temporary file in 1 MB reads. Each read takes the GIL back afterwards, and
while another thread runs Python it gets the GIL only after that thread's switch
interval, so the load crawls. On the 2-core VM the README's numbers come from, next to
a thread in a busy Python loop, py3langid's own load took 14.3 s (1.0 s alone); one
``lzma.decompress`` call, which takes the GIL back only when its output buffer grows,
took 2.9 s (0.7 s alone). Both places that load it off the main thread load it next
to running Python: ``qwen-router ask`` classifies while LangGraph imports, and
``CascadeClassifier.aclassify`` loads it in a worker thread while the event loop runs.

The price: the decompressed npz (68 MB) is in memory while the arrays are read.
"""

from __future__ import annotations

import io
import lzma
from array import array
from pathlib import Path
from typing import Any

__all__ = ["load_identifier"]

_TYPECODES = {2: "H", 4: "I", 8: "L"}


def load_identifier(*, norm_probs: bool = True) -> Any:
    """py3langid's ``LanguageIdentifier`` for its shipped model, with the arrays its own
    loader (``py3langid.modelio.load_model``) reads; a test checks that the two rank
    alike, so a py3langid that changes its file fails there."""
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    raw = lzma.decompress((Path(MODEL_DIR) / MODEL_FILE).read_bytes())
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        ptc, pc = np.asarray(data["ptc"]), np.asarray(data["pc"])
        classes = data["classes"].tolist()
        nextmove, row = _unsigned(data["nextmove"]), _unsigned(data["nextmove_row"])
        output = data["out_feat"].tolist()
    return LanguageIdentifier(
        ptc, pc, classes, nextmove, output, norm_probs=norm_probs, tk_row=row
    )


def _unsigned(values: Any) -> array[int]:
    # the stdlib array py3langid's tokenizer indexes (faster per item than numpy's)
    import numpy as np

    out = array(_TYPECODES[values.dtype.itemsize])
    out.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return out
