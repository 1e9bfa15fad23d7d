"""`publisher completion bash|zsh|fish`: a completion script, made from the command
line parser itself (so it never lists a command or an option that does not exist)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

__all__ = ["NAMES", "SHELLS", "Command", "Option", "bash", "commands", "fish", "main", "zsh"]

NAMES = ("publisher", "publisher-posts")


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...] = ()
    is_file: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    choices: tuple[str, ...] = ()  # a positional with fixed choices (schema, completion)
    files: bool = False  # takes paths


def _options(parser: argparse.ArgumentParser) -> tuple[Option, ...]:
    out = []
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        takes = action.nargs != 0
        out.append(
            Option(
                tuple(action.option_strings),
                (action.help or "").replace("%%", "%"),
                takes,
                tuple(action.choices or ()),
                is_file=action.dest == "config",
            )
        )
    return tuple(out)


def commands() -> tuple[tuple[Option, ...], tuple[Command, ...]]:
    """The global options and every command, with its options, from `cli._parser`."""
    from publisher.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in sub._choices_actions}
    found = []
    for name, p in sub.choices.items():
        positionals = [a for a in p._actions if not a.option_strings]
        choices = tuple(c for a in positionals for c in (a.choices or ()))
        files = any(a.dest in ("paths", "path") for a in positionals)
        found.append(Command(name, helps.get(name, ""), _options(p), choices, files))
    return _options(parser), tuple(found)


def _q(text: str) -> str:
    return text.replace("'", "'\\''")


def bash() -> str:
    top, cmds = commands()
    names = " ".join(c.name for c in cmds)
    top_flags = " ".join(f for o in top for f in o.flags)
    cases = []
    for c in cmds:
        flags = " ".join(f for o in c.options for f in o.flags)
        words = " ".join(c.choices)
        cases.append(f"        {c.name}) opts='{flags}'; words='{words}'; files={int(c.files)};;")
    body = "\n".join(cases)
    return f"""# bash completion for publisher (`publisher completion bash`)
_publisher() {{
    local cur prev cmd="" i opts="" words="" files=0
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    if [[ "$prev" == "--config" ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            --config) ((i++)) ;;
            -*) ;;
            *) cmd="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W "{names} {top_flags}" -- "$cur"))
        return
    fi
    case "$cmd" in
{body}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -n "$words" ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif ((files)); then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o default -o bashdefault -F _publisher {" ".join(NAMES)}
"""


def _zsh_spec(o: Option) -> list[str]:
    help_ = _q(o.help.replace("[", "(").replace("]", ")").replace(":", " -"))
    value = ""
    if o.takes_value:
        value = (
            ":file:_files"
            if o.is_file
            else (f":value:({' '.join(o.choices)})" if o.choices else ":value:")
        )
    if len(o.flags) == 1:
        return [f"'{o.flags[0]}[{help_}]{value}'"]
    group = " ".join(o.flags)
    return [f"'({group})'{{{','.join(o.flags)}}}'[{help_}]{value}'"]


def zsh() -> str:
    top, cmds = commands()
    described = "\n".join(f"        '{c.name}:{_q(c.help.replace(':', ' -'))}'" for c in cmds)
    cases = []
    for c in cmds:
        specs = [s for o in c.options for s in _zsh_spec(o)]
        if c.choices:
            specs.append(f"'1:which:({' '.join(c.choices)})'")
        if c.files:
            specs.append("'*:file:_files'")
        cases.append(f"        {c.name})\n            _arguments {' '.join(specs)} ;;")
    top_specs = " ".join(s for o in top for s in _zsh_spec(o))
    return f"""#compdef {" ".join(NAMES)}
# zsh completion for publisher (`publisher completion zsh > ~/.zfunc/_publisher`)
_publisher() {{
    local curcontext="$curcontext" state line
    local -a commands
    commands=(
{described}
    )
    _arguments -C {top_specs} '1:command:->command' '*::arg:->args'
    case $state in
    command)
        _describe command commands ;;
    args)
        case $line[1] in
{chr(10).join(cases)}
        esac ;;
    esac
}}
_publisher "$@"
"""


def fish() -> str:
    top, cmds = commands()
    lines = ["# fish completion for publisher (`publisher completion fish`)"]
    for name in NAMES:
        names = " ".join(c.name for c in cmds)
        lines.append(f"complete -c {name} -f")
        for o in top:
            lines.append(_fish_option(name, "__fish_use_subcommand", o))
        for c in cmds:
            lines.append(
                f"complete -c {name} -n '__fish_use_subcommand' -a {c.name} -d '{_q(c.help)}'"
            )
            cond = f"__fish_seen_subcommand_from {c.name}"
            for o in c.options:
                lines.append(_fish_option(name, cond, o))
            if c.choices:
                lines.append(f"complete -c {name} -n '{cond}' -a '{' '.join(c.choices)}'")
            if c.files:
                lines.append(f"complete -c {name} -n '{cond}' -F")
        lines.append(f"# commands: {names}")
    return "\n".join(lines) + "\n"


def _fish_option(name: str, cond: str, o: Option) -> str:
    parts = [f"complete -c {name} -n '{cond}'"]
    for flag in o.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if o.takes_value:
        parts.append("-r -F" if o.is_file else "-r")
        if o.choices:
            parts.append(f"-a '{' '.join(o.choices)}'")
    parts.append(f"-d '{_q(o.help)}'")
    return " ".join(parts)


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}


def main(shell: str) -> int:
    sys.stdout.write(SHELLS[shell]())
    return 0
