"""What a graph compiles once from its profile: every prompt template it can render,
every verifier name it can call and the model family table, checked when the graph is built so that a typo fails
at ``Router(...)`` / ``build_graph(...)`` with the field named, not on a request."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from qwen_router.errors import ConfigError
from qwen_router.prompts import PromptTemplate, load_template
from qwen_router.tools.verifiers import Verifier, check_verifier, get_verifier

from ..profiles import Profile, check_backends
from ..thinking.families import table_for

__all__ = ["CompiledAssets", "compile_assets", "template_dirs_of"]

REPAIR_TEMPLATE = "repair"


@dataclass(frozen=True)
class CompiledAssets:
    """Templates by name, parsed once; verifiers resolved on first use (they may
    import sympy), then called directly."""

    templates: dict[str, PromptTemplate]
    verifier_names: frozenset[str]
    dirs: tuple[Path, ...]

    def template(self, name: str) -> PromptTemplate:
        found = self.templates.get(name)
        return found if found is not None else load_template(name, self.dirs)

    def verifier(self, name: str) -> Verifier:
        return get_verifier(name)


def template_dirs_of(profile: Profile, template_dirs: Sequence[str | Path]) -> tuple[Path, ...]:
    """The caller's directories first, then the profile's ``templates_dir``."""
    dirs = [Path(d).expanduser() for d in template_dirs]
    if profile.templates_dir:
        dirs.append(Path(profile.templates_dir).expanduser())
    return tuple(dirs)


def _fail(profile: Profile, where: str, exc: ConfigError) -> ConfigError:
    return ConfigError(
        f"{profile.source or profile.name}: field {where!r}: {exc.message}", hint=exc.hint
    )


def compile_assets(
    profile: Profile,
    template_dirs: Sequence[str | Path] = (),
    *,
    backends: Collection[str] = (),
) -> CompiledAssets:
    """Check every name the profile uses and parse its templates.

    Raises:
        ConfigError: an unknown backend, template or verifier, or a malformed template;
            the message names the profile and the field.
    """
    check_backends(profile, backends)
    dirs = template_dirs_of(profile, template_dirs)
    wanted: list[tuple[str, str]] = [
        (f"routes.{route}.template", spec.template or route)
        for route, spec in profile.routes.items()
    ]
    wanted.append(("policy.non_english_math_template", profile.policy.non_english_math_template))
    templates: dict[str, PromptTemplate] = {}
    for where, name in wanted:
        try:
            templates[name] = load_template(name, dirs)
        except ConfigError as exc:
            raise _fail(profile, where, exc) from None
    templates[REPAIR_TEMPLATE] = load_template(REPAIR_TEMPLATE, dirs)
    names: set[str] = set()
    for route, spec in profile.routes.items():
        for i, name in enumerate(spec.verifiers):
            try:
                check_verifier(name)
            except ConfigError as exc:
                raise _fail(profile, f"routes.{route}.verifiers[{i}]", exc) from None
            names.add(name)
    table_for(tuple(profile.families))  # the model family table, read now, not on a request
    return CompiledAssets(templates, frozenset(names), dirs)
