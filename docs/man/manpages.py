#!/usr/bin/env python3
"""The man pages of slotgate(1), its subcommands and slotgated(8), from the argument parser.

swift-argument-parser's generate-manual (the tool behind its GenerateManual plugin) writes the pages from what
`slotgate --experimental-dump-help` and `slotgated --experimental-dump-help` say: the abstracts, the discussions
(with their examples) and the flags in Sources/slotgate and Sources/slotgated. This script runs it as the plugin
does, on the binaries that are installed, and finishes what it leaves:

  - the dump it reads leaves out the parser's own `help` subcommand (not a page of ours, and slotgated has no
    subcommands), and spells a few typographic characters in ASCII, which generate-manual would drop;
  - the discussions' blank lines become paragraphs (.Pp), their indented lines (the exit codes, the examples)
    literal displays, which generate-manual leaves as text lines for roff to fill, and each sentence of a text
    line starts a line of its own, as mdoc wants;
  - a page with a hand-written docs/man/<page>.<section>.mdoc (slotgated.8.mdoc: signals, environment, files,
    exit status; slotgate.1.mdoc) gets its sections in place of the generated EXIT STATUS, with @NAME@ replaced
    by the install's directories; its SEE ALSO takes in the generated one (the subcommands' pages);
  - a subcommand's page refers to its parent's (slotgate.run(1) to slotgate(1)) in a SEE ALSO of its own.

Usage: docs/man/manpages.py --tool GENERATE_MANUAL --bin DIR --out DIR [--date YYYY-MM-DD] [--set NAME=VALUE ...]
Writes OUT/man1/slotgate.1, OUT/man1/slotgate.<subcommand>.1 and OUT/man8/slotgated.8, and lists them on stdout.
`manpages.py --dump BINARY` is the filtered dump itself (generate-manual runs it through a wrapper).
"""

import argparse
import datetime
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (binary, section, one page per subcommand)
PROGRAMS = [("slotgate", 1, True), ("slotgated", 8, False)]

# What generate-manual would drop (it keeps ASCII only), as it reads in a terminal.
ASCII = {"\u2026": "...", "\u2013": "-", "\u2014": "--", "\u00b7": "-", "\u2265": ">=", "\u2264": "<=", "\u2192": "->",
         "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "}


def asciified(value, where):
    if isinstance(value, str):
        out = "".join(ASCII.get(c, c) for c in value)
        odd = sorted({c for c in out if ord(c) > 127})
        if odd:
            sys.exit(f"manpages.py: {where} holds {', '.join(repr(c) for c in odd)}, which generate-manual would drop; "
                     f"add it to ASCII in {os.path.relpath(__file__)} or write ASCII")
        return out
    if isinstance(value, list):
        return [asciified(v, where) for v in value]
    if isinstance(value, dict):
        return {k: asciified(v, f"{where}.{k}") for k, v in value.items()}
    return value


def without_help(command):
    subcommands = [without_help(s) for s in command.get("subcommands", [])
                   if not (s.get("commandName") == "help" and s.get("abstract") == "Show subcommand help information.")]
    command = dict(command)
    if subcommands:
        command["subcommands"] = subcommands
    else:
        command.pop("subcommands", None)
    return command


def dump(binary):
    """Prints the binary's --experimental-dump-help without the help subcommand, in ASCII."""
    answer = subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True, text=True)
    info = json.loads(answer.stdout)
    name = os.path.basename(binary)
    info["command"] = asciified(without_help(info["command"]), name)
    json.dump(info, sys.stdout)


def finished(page, fragment, values, parent=None):
    """generate-manual's mdoc with paragraphs, literal displays and the hand-written sections; a subcommand's page
    refers to its parent's (`parent`: name and section), which generate-manual leaves out."""
    out = []
    block = []  # indented text lines waiting to become a literal display

    def flush():
        if not block:
            return
        # Kept as indented as in --help: a line of the exit codes is 74 columns there, 79 in an 80-column man.
        out.append(".Bd -literal")
        out.extend(block)
        out.append(".Ed")
        block.clear()

    for line in page.splitlines():
        is_text = not line.startswith((".", "'"))
        if is_text and line.startswith(("  ", "\\& ")):
            block.append(line.replace("\\& ", " ", 1) if line.startswith("\\& ") else line)
            continue
        flush()
        if is_text and not line.strip():
            if out and out[-1] != ".Pp":
                out.append(".Pp")
            continue
        if is_text:
            # One sentence per line, as mdoc wants (roff then spaces sentences as it should).
            for part in re.sub(r"([.!?][)\]\"']*) +(?=\S)", "\\1\n", line).split("\n"):
                out.append("\\&" + part if part.startswith((".", "'")) else part)
            continue
        if line.startswith(".Nd ") and line.endswith('."'):
            line = line[:-2] + '"'  # a one-line description, not a sentence
        out.append(line)
    flush()

    if fragment is not None:
        own = [line for line in fragment.splitlines() if not line.startswith('.\\"')]
        start = out.index('.Sh "EXIT STATUS"')
        end = next((i for i in range(start + 1, len(out)) if out[i].startswith(".Sh ")), len(out))
        out[start:end] = own
        # One SEE ALSO: the fragment's references and the generated ones (the subcommands' pages), by section and name.
        see_also = [i for i, line in enumerate(out) if line in ('.Sh "SEE ALSO"', ".Sh SEE ALSO")]
        if len(see_also) == 2:
            references = []
            for start in reversed(see_also):
                end = next((i for i in range(start + 1, len(out)) if out[i].startswith(".Sh ")), len(out))
                references += [line.removesuffix(" ,").split()[1:3] for line in out[start + 1:end] if line.startswith(".Xr ")]
                del out[start + (start == see_also[0]):end]
            references.sort(key=lambda reference: (int(reference[1]), reference[0]))
            out[see_also[0] + 1:see_also[0] + 1] = [f".Xr {name} {section}" + (" ," if i < len(references) - 1 else "")
                                                    for i, (name, section) in enumerate(references)]
    if parent and not any(line in ('.Sh "SEE ALSO"', ".Sh SEE ALSO") for line in out):
        out += ['.Sh "SEE ALSO"', f".Xr {parent[0]} {parent[1]}"]
    text = "\n".join(out) + "\n"
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = sorted(set(re.findall(r"@[A-Z]+@", text)))
    if left:
        sys.exit(f"manpages.py: no value for {', '.join(left)} (--set NAME=VALUE)")
    return text


def page_date():
    """SOURCE_DATE_EPOCH's day, else the last commit's, else today: the same tree gives the same pages."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%d")
    commit = subprocess.run(["git", "-C", HERE, "log", "-1", "--format=%cs"], capture_output=True, text=True)
    if commit.returncode == 0 and commit.stdout.strip():
        return commit.stdout.strip()
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    parser.add_argument("--tool", help="swift-argument-parser's generate-manual")
    parser.add_argument("--bin", help="the directory holding slotgate and slotgated")
    parser.add_argument("--out", help="where man1/ and man8/ go")
    parser.add_argument("--date", help="the pages' date, YYYY-MM-DD (default: SOURCE_DATE_EPOCH, the last commit, today)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="replaces @NAME@")
    args = parser.parse_args()
    if args.dump:
        dump(args.dump)
        return
    if not (args.tool and args.bin and args.out):
        parser.error("--tool, --bin and --out are required")
    date = args.date or page_date()
    values = dict(pair.split("=", 1) for pair in args.set)

    written = []
    with tempfile.TemporaryDirectory(prefix="slotgate-man.") as work:
        for name, section, multi_page in PROGRAMS:
            binary = os.path.abspath(os.path.join(args.bin, name))
            if not os.access(binary, os.X_OK):
                sys.exit(f"manpages.py: {binary} is missing; build it first")
            # generate-manual runs `TOOL --experimental-dump-help`: TOOL is this script's filter of the binary's dump.
            wrapper = os.path.join(work, name)
            with open(wrapper, "w") as f:
                f.write(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.abspath(__file__)}" --dump "{binary}"\n')
            os.chmod(wrapper, stat.S_IRWXU)
            generated = os.path.join(work, f"{name}.pages")
            os.mkdir(generated)
            command = [args.tool, wrapper, "--section", str(section), "--date", date, "--output-directory", generated]
            if multi_page:
                command.append("--multi-page")
            subprocess.run(command, check=True)
            target = os.path.join(args.out, f"man{section}")
            os.makedirs(target, exist_ok=True)
            for page in sorted(os.listdir(generated)):
                fragment_path = os.path.join(HERE, f"{page}.mdoc")
                fragment = open(fragment_path).read() if os.path.exists(fragment_path) else None
                with open(os.path.join(generated, page)) as f:
                    parent = page.rsplit(".", 2)[0] if page.count(".") > 1 else None
                    text = finished(f.read(), fragment, values, parent=(parent, section) if parent else None)
                path = os.path.join(target, page)
                with open(path, "w") as f:
                    f.write(text)
                os.chmod(path, 0o644)
                written.append(path)
    print("\n".join(written))


if __name__ == "__main__":
    main()
