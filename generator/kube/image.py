"""Image references: the grammar registries, containerd and the kubelet parse (distribution/reference), so
that a bad image is refused with its position instead of leaving Pods in InvalidImageName.

    reference := name [":" tag] ["@" digest]
    name      := [host [":" port] "/"] path          ; a host only when a path follows it
    path      := component ("/" component)*          ; at most 255 characters
    component := [a-z0-9]+ (("." | "_" | "__" | "-"+) [a-z0-9]+)*
    tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
    digest    := algorithm ":" hex                   ; sha256 (64), sha384 (96), sha512 (128) lower-case hex
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PATH_LENGTH = 255
DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?", re.ASCII)
_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_ALGORITHM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*", re.ASCII)
_LOWER_HEX = re.compile(r"[a-f0-9]+", re.ASCII)
_IDENTIFIER = re.compile(r"[a-f0-9]{64}", re.ASCII)  # the kubelet refuses a name that looks like an image ID

HINT_FORM = "write [registry[:port]/]path[:tag][@sha256:<64 hex digits>], e.g. registry.example.com/team/server:1.4"


@dataclass(frozen=True, slots=True)
class ImageProblem:
    message: str
    hint: str = HINT_FORM


def image_problem(reference: str) -> ImageProblem | None:
    """What keeps `reference` from being an image reference, or None."""
    if not reference:
        return ImageProblem("the image is empty", "name the image to run, e.g. registry.example.com/team/server:1.4")
    if any(character.isspace() for character in reference):
        return ImageProblem(
            f"image {reference!r} contains a space", "remove it: no space around ':', '/' or '@' in an image"
        )
    if _IDENTIFIER.fullmatch(reference):
        return ImageProblem(f"image {reference!r} is an image ID, not a name", "name the image and pin it by digest")
    name_and_tag, at, digest = reference.partition("@")
    slash = name_and_tag.rfind("/")
    colon = name_and_tag.find(":", slash + 1)
    name, tag = (name_and_tag, None) if colon < 0 else (name_and_tag[:colon], name_and_tag[colon + 1 :])
    return _name_problem(name) or _tag_problem(tag) or (_digest_problem(digest) if at else None)


def has_digest(reference: str) -> bool:
    """Whether a valid reference is pinned by digest (`@algorithm:hex`)."""
    return "@" in reference


def _name_problem(name: str) -> ImageProblem | None:
    if not name:
        return ImageProblem("the image has no name before its tag or digest")
    host, slash, path = name.partition("/")
    if not slash or not _HOST.fullmatch(host):
        if slash and any(mark in host for mark in ".:["):
            return ImageProblem(
                f"registry {host!r} is not a host name or [IPv6 address] with an optional :port",
                "write e.g. registry.example.com:5000/team/server:1.4",
            )
        path = name
    if len(path) > MAX_PATH_LENGTH:
        return ImageProblem(f"the repository path is {len(path)} characters long, more than {MAX_PATH_LENGTH}")
    for component in path.split("/"):
        if not component:
            return ImageProblem(f"{name!r} has an empty part: a '/' at an end, or two in a row")
        if _COMPONENT.fullmatch(component.lower()) and component != component.lower():
            return ImageProblem(
                f"upper-case letters in the repository path ({component!r})",
                f"registries take lower-case repository paths: write {component.lower()!r}",
            )
        if not _COMPONENT.fullmatch(component):
            return ImageProblem(
                f"{component!r} is not a part of a repository path",
                "use lower-case letters and digits, separated by one '.', one or two '_', or dashes",
            )
    return None


def _tag_problem(tag: str | None) -> ImageProblem | None:
    if tag is None or _TAG.fullmatch(tag):
        return None
    if not tag:
        return ImageProblem("the tag after ':' is empty", "write a tag such as 1.4, or remove the ':'")
    if len(tag) > 128:
        return ImageProblem(f"the tag is {len(tag)} characters long, more than 128")
    return ImageProblem(
        f"tag {tag!r} is not a tag",
        "a tag is a letter, digit or '_', then letters, digits, '_', '.' or '-' (no ':' or '!')",
    )


def _digest_problem(digest: str) -> ImageProblem | None:
    algorithm, colon, encoded = digest.partition(":")
    hint = "write @sha256: and the 64 lower-case hex digits of the image's digest"
    if not colon or not _ALGORITHM.fullmatch(algorithm) or not encoded:
        return ImageProblem(f"digest {digest!r} is not <algorithm>:<hex>", hint)
    length = DIGEST_LENGTHS.get(algorithm)
    if length is None:
        supported = ", ".join(sorted(DIGEST_LENGTHS))
        return ImageProblem(f"digest algorithm {algorithm!r} is not one registries take ({supported})", hint)
    if not _LOWER_HEX.fullmatch(encoded) or len(encoded) != length:
        return ImageProblem(f"a {algorithm} digest is {length} lower-case hex digits, not {encoded!r}", hint)
    return None
