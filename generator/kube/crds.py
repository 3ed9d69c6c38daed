"""CRDs: the JSON Schemas of the providers' CustomResourceDefinitions fleetgen renders objects for.

The schemas ship inside the package (`schemas/crds/`, provenance in its README), so a render can check
what it writes without a cluster or a network. A validator is built once per kind: the Cilium schema
alone is 400 kB.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from .api import SchemaProblem, validator_problems

SCHEMA_FILES: dict[tuple[str, str], str] = {
    ("compute.cnrm.cloud.google.com/v1beta1", "ComputeFirewall"): "computefirewall-v1beta1.json",
    ("ec2.services.k8s.aws/v1alpha1", "SecurityGroup"): "securitygroup-v1alpha1.json",
    (
        "network.azure.com/v1api20240301",
        "NetworkSecurityGroupsSecurityRule",
    ): "networksecuritygroupssecurityrule-v1api20240301.json",
    ("projectcalico.org/v3", "GlobalNetworkPolicy"): "globalnetworkpolicy-v3.json",
    ("cilium.io/v2", "CiliumClusterwideNetworkPolicy"): "ciliumclusterwidenetworkpolicy-v2.json",
    # The delivery objects under rendered/_delivery/ (generator/delivery.py).
    ("argoproj.io/v1alpha1", "Application"): "application-v1alpha1.json",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "applicationset-v1alpha1.json",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomization-v1.json",
}


def knows(obj: dict[str, Any]) -> bool:
    """True when `obj` is of a custom kind whose schema fleetgen carries."""
    return (obj.get("apiVersion"), obj.get("kind")) in SCHEMA_FILES


def schema_path(api_version: str, kind: str) -> str:
    """`<group>/<file>` inside `schemas/crds/`, the layout of the shared schema collection."""
    group = api_version.rpartition("/")[0]
    return f"{group}/{SCHEMA_FILES[(api_version, kind)]}"


@cache
def schema(api_version: str, kind: str) -> dict[str, Any]:
    path = resources.files("generator").joinpath("schemas", "crds", *schema_path(api_version, kind).split("/"))
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema(api_version, kind))


def validate_object(obj: dict[str, Any]) -> list[SchemaProblem]:
    """Every schema violation of `obj`, worded as kube's are, sorted by path for stable output."""
    return validator_problems(_validator(obj["apiVersion"], obj["kind"]), obj, str(obj["kind"]).lower())
