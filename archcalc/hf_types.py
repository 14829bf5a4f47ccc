"""The types a plugin registers Hugging Face model types with, apart from :mod:`archcalc.hf`.

Loading plugins needs :class:`HFModelType` (the registry checks what the
``archcalc_hf_model_types`` hook returns); only reading a ``config.json`` needs the
loader and :class:`~archcalc.hf.ConfigReader`. Keeping the two apart keeps
:mod:`archcalc.hf` off the start-up path of a YAML spec's ``archcalc count``
(``tests/cli/test_startup.py``). Both names stay importable from :mod:`archcalc.hf` and
:mod:`archcalc`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archcalc.hf import ConfigReader

#: What a translator gives for a spec key: a value, and the config keys it came from.
Translator = Callable[["ConfigReader"], None]


@dataclass(frozen=True)
class HFModelType:
    """A Hugging Face ``model_type`` a plugin reads, returned from ``archcalc_hf_model_types``.

    ``translate`` receives a :class:`ConfigReader` over the config and fills in the spec of
    ``family`` (which any plugin may provide) with :meth:`ConfigReader.set`. The count of
    that spec must equal what ``auto_class`` (a transformers Auto class, for documentation
    and coverage tables) builds from the config. ``key_order`` orders the keys of the spec
    ``archcalc import-hf`` writes (unlisted keys follow in the order they were set).
    ``aliases`` maps other names of a key to it, as the config class's ``attribute_map``
    does (``num_experts`` → ``num_local_experts``): a config that uses the alias is read
    as if it used the key, and one that gives both, differently, is refused.
    """

    model_type: str
    family: str
    translate: Translator
    auto_class: str = "AutoModelForCausalLM"
    description: str = ""
    key_order: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
