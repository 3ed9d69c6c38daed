"""Container images: checked against the reference grammar registries and the kubelet use, and pinned by
digest where a pool or a fleet asks for it; through the CLI on real files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from test_render import snapshot_of
from test_validate import FLEET, IMAGE, POOL, assert_printed, edited, printed, validate, write_pool

from generator.cli import cli
from generator.kube.image import image_problem

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE_PLACE = "fleets/pool-a/fleet.yaml:18:18"  # the value of the server container's image


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


def with_image(image: str, fleet: str = FLEET) -> str:
    return edited(fleet, IMAGE, f"          image: {image}")


@pytest.mark.parametrize(
    ("image", "message", "hint"),
    [
        pytest.param('""', "the image is empty", "name the image to run", id="empty"),
        pytest.param('"repo/server: 1.43.0"', "contains a space", "remove it", id="space"),
        pytest.param(
            "Registry.Example.com/Server:v1!",
            "upper-case letters in the repository path ('Server')",
            "write 'server'",
            id="upper-case-path",
        ),
        pytest.param("server::1.43", "tag ':1.43' is not a tag", "no ':' or '!'", id="bad-tag"),
        pytest.param("server:1.43!", "tag '1.43!' is not a tag", "a tag is a letter, digit or '_'", id="tag-bang"),
        pytest.param('"server:"', "the tag after ':' is empty", "remove the ':'", id="empty-tag"),
        pytest.param("server:" + "1" * 129, "the tag is 129 characters long, more than 128", None, id="long-tag"),
        pytest.param(
            "server@sha256:abc", "a sha256 digest is 64 lower-case hex digits, not 'abc'", "@sha256:", id="short-digest"
        ),
        pytest.param(
            "server@" + DIGEST.upper(), "is not one registries take (sha256, sha384, sha512)", None, id="digest-case"
        ),
        pytest.param("server@md5:" + "a" * 32, "digest algorithm 'md5'", "@sha256:", id="unknown-algorithm"),
        pytest.param("server@latest", "digest 'latest' is not <algorithm>:<hex>", None, id="digest-not-a-digest"),
        pytest.param("my_registry:5000/server:1", "registry 'my_registry:5000' is not a host name", None, id="host"),
        pytest.param("team//server:1", "has an empty part", None, id="empty-path-part"),
        pytest.param("team/server--:1", "'server--' is not a part of a repository path", "dashes", id="path-part"),
        pytest.param("r.io/" + "a" * 256, "the repository path is 256 characters long, more than 255", None, id="long"),
        pytest.param("0123456789abcdef" * 4, "is an image ID, not a name", None, id="image-id"),
    ],
)
def test_a_bad_image_is_refused_at_its_value(fleets: Path, image: str, message: str, hint: str | None) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": with_image(image)})
    result = validate()
    assert result.exit_code == 1, result.stderr
    assert_printed(result, IMAGE_PLACE, message, hint)


VALID = [
    "ubuntu",
    "library/nginx:1.27",
    "localhost:5000/server",
    "localhost/server:dev",
    f"registry.example.com:5000/team/server:1.2@{DIGEST}",
    f"registry.example.com/team/server@{DIGEST}",
    '"[2001:db8::1]:5000/team/server:1.2"',
    "Registry.Example.com/team/server:V1_rc.2-x",
    "10.0.0.1:5000/a.b/c__d/e---f:_",
    "r.io/" + "a" * 255,
    "server@sha512:" + "0" * 128,
]


def test_only_the_bad_image_among_valid_ones_is_refused(fleets: Path) -> None:
    """Sidecars with every valid form beside the server, then one bad image: exactly one error, at it."""
    sidecars = "".join(f"\n        - name: c{i}\n          image: {image}" for i, image in enumerate(VALID))
    fleet = edited(FLEET, IMAGE, IMAGE + sidecars + "\n        - name: bad\n          image: Bad")
    write_pool(
        fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(fleet, "  ports:", "  container: server\n  ports:")}
    )
    result = validate()
    assert result.exit_code == 1
    bad_line = 19 + 2 * len(VALID) + 2  # the server's image moved to line 19 by spec.container
    assert [(d.place, d.message) for d in printed(result.stderr)] == [
        (f"fleets/pool-a/fleet.yaml:{bad_line}:18", "upper-case letters in the repository path ('Bad')")
    ]


def test_init_container_images_are_checked_too(fleets: Path) -> None:
    init = "    spec:\n      initContainers:\n        - name: fetch\n          image: Fetch:1\n      containers:"
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(FLEET, "    spec:\n      containers:", init)})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/fleet.yaml:18:18", "upper-case letters in the repository path ('Fetch')")


def test_a_container_without_an_image(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(FLEET, "\n" + IMAGE, "")})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/fleet.yaml:17:11", "container 'server' has no image", "add image:")


def test_a_refused_image_writes_nothing(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": with_image("server::1.43")})
    before = snapshot_of(fleets)
    result = CliRunner().invoke(cli, ["render", "--fleets", str(fleets), "--out", "rendered"])
    assert result.exit_code == 1
    assert_printed(result, IMAGE_PLACE, "tag ':1.43' is not a tag")
    assert snapshot_of(fleets) == before and not Path("rendered").exists()


# images.requireDigest ------------------------------------------------------------------------------

POOL_REQUIRES = edited(POOL, "  nodes:", "  images: {requireDigest: true}\n  nodes:")
FLEET_REQUIRES = edited(FLEET, "  template:", "  images: {requireDigest: true}\n  template:")


@pytest.mark.parametrize(
    ("pool", "fleet", "who", "place"),
    [
        pytest.param(POOL_REQUIRES, FLEET, "pool 'pool-a'", IMAGE_PLACE, id="pool"),
        pytest.param(POOL, FLEET_REQUIRES, "the fleet", "fleets/pool-a/fleet.yaml:19:18", id="fleet"),
    ],
)
def test_require_digest_refuses_an_image_pinned_by_tag_only(
    fleets: Path, pool: str, fleet: str, who: str, place: str
) -> None:
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": fleet})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result,
        place,
        f"image 'example.com/arena:1.0' is not pinned by digest, and {who} sets images.requireDigest",
        "example.com/arena:1.0@sha256:<64 hex digits>",
    )
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": fleet.replace("arena:1.0", f"arena:1.0@{DIGEST}")})
    assert validate().exit_code == 0


def test_a_fleet_cannot_lift_the_pools_digest_rule(fleets: Path) -> None:
    fleet = edited(FLEET, "  template:", "  images: {requireDigest: false}\n  template:")
    write_pool(fleets, files={"pool.yaml": POOL_REQUIRES, "fleet.yaml": fleet.replace("1.0", f"1.0@{DIGEST}")})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result,
        "fleets/pool-a/fleet.yaml:12:27",
        "pool 'pool-a' requires images pinned by digest; a fleet cannot turn that off",
        "remove images.requireDigest from the fleet",
    )


# The grammar, against distribution/reference's own regular expressions -----------------------------

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALPHANUMERIC + f"(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN = _HOST + r"(?::[0-9]+)?"
_REMOTE_NAME = _PATH_COMPONENT + f"(?:/{_PATH_COMPONENT})*"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"((?:{_DOMAIN}/)?{_REMOTE_NAME})(?::([\w][\w.-]{{0,127}}))?(?:@({_DIGEST}))?", re.ASCII)
ANCHORED_NAME = re.compile(rf"(?:({_DOMAIN})/)?({_REMOTE_NAME})", re.ASCII)


def kubelet_accepts(reference: str) -> bool:
    """reference.Parse plus what go-digest and the kubelet add: registered algorithms, a name, no image ID."""
    match = REFERENCE.fullmatch(reference)
    if match is None or re.fullmatch("[a-f0-9]{64}", reference):
        return False
    path = ANCHORED_NAME.fullmatch(match.group(1)).group(2)  # type: ignore[union-attr]
    if len(path) > 255:
        return False
    digest = match.group(3)
    if digest is None:
        return True
    algorithm, encoded = digest.split(":", 1)
    lengths = {"sha256": 64, "sha384": 96, "sha512": 128}
    return algorithm in lengths and re.fullmatch(f"[a-f0-9]{{{lengths[algorithm]}}}", encoded) is not None


PIECES = st.sampled_from(["a", "b0", "A", "-", "--", ".", "_", "__", "/", ":", "5000", "@", "[", "]", "::1", " ", "!"])
HEX = "0123456789abcdef" * 4


@given(
    st.lists(PIECES, max_size=12).map("".join),
    st.sampled_from(["", ":1.0", ":", "@sha256:" + HEX, "@sha256:" + HEX.upper(), "@sha384:" + HEX, "@md5:" + HEX]),
)
def test_the_checker_agrees_with_the_registry_grammar(name: str, suffix: str) -> None:
    reference = name + suffix
    assert (image_problem(reference) is None) == kubelet_accepts(reference), reference
