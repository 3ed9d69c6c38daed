"""Image rules: every container of a fleet's template names an image the kubelet can pull, pinned by digest
when the pool or the fleet sets `images.requireDigest`.

Every rule reports through the document it read, so each message carries `file:line:column`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..diagnostics import Diagnostic
from ..kube.image import has_digest, image_problem
from .agones_sdk import agones_sdk, release, sdk_image
from .load import Document
from .model import Fleet, NodePool

CONTAINER_GROUPS = ("initContainers", "containers")  # ephemeral containers are added to running Pods only


def image_problems(fleet: Fleet, document: Document, pool: NodePool) -> Iterator[Diagnostic]:
    yield from _opt_out_problems(fleet, document, pool)
    required_by = _digest_required_by(fleet, pool)
    spec: dict[str, Any] = fleet.spec.template.get("spec") or {}
    for group in CONTAINER_GROUPS:
        for index, container in enumerate(spec.get(group) or []):
            path = ("spec", "template", "spec", group, index)
            image = container.get("image")
            if image is None:
                name = container.get("name", "")
                yield document.error(path, f"container {name!r} has no image", "add image: <registry>/<path>:<tag>")
                continue
            yield from _reference_problems(image, document, (*path, "image"), required_by)
    yield from _sdk_image_problems(fleet, document, required_by)


def _reference_problems(image: str, document: Document, path: tuple, required_by: str) -> Iterator[Diagnostic]:
    problem = image_problem(image)
    if problem is not None:
        yield document.error(path, problem.message, problem.hint)
    elif required_by and not has_digest(image):
        yield document.error(
            path,
            f"image {image!r} is not pinned by digest, and {required_by} sets images.requireDigest",
            f"append the digest the tag points to now, e.g. {image}@sha256:<64 hex digits> "
            f"(`crane digest {image}` or `docker buildx imagetools inspect {image}` prints it)"
            + ("" if path[-1] == "image" else "; set it as spec.sdk.agones.image"),
        )


def _sdk_image_problems(fleet: Fleet, document: Document, required_by: str) -> Iterator[Diagnostic]:
    """The Agones SDK sidecar's image: the one `image` names, or Agones' own for `version`."""
    sdk = agones_sdk(fleet.spec)
    if sdk is None or (sdk.image is None and release(sdk.version) is None):
        return  # no SDK, or a version that the SDK rules refuse
    path = ("spec", "sdk", "agones", "image" if sdk.image is not None else "version")
    yield from _reference_problems(sdk_image(sdk), document, path, required_by)


def _digest_required_by(fleet: Fleet, pool: NodePool) -> str:
    """Who asks for digests ("pool 'eu-west-1'", "the fleet"), or "" when nobody does."""
    if pool.spec.images.requireDigest:
        return f"pool {pool.metadata.name!r}"
    return "the fleet" if fleet.spec.images.requireDigest else ""


def _opt_out_problems(fleet: Fleet, document: Document, pool: NodePool) -> Iterator[Diagnostic]:
    """A fleet may add the rule, never lift the pool's."""
    images = fleet.spec.images
    if pool.spec.images.requireDigest and "requireDigest" in images.model_fields_set and not images.requireDigest:
        yield document.error(
            ("spec", "images", "requireDigest"),
            f"pool {pool.metadata.name!r} requires images pinned by digest; a fleet cannot turn that off",
            "remove images.requireDigest from the fleet, or from the pool if it should not apply to every fleet",
        )
