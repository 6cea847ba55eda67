"""The segment and audience files the marketing team writes, loaded and checked before anything runs.

Segments are one YAML file each in ``hub/settings/segments/`` (or the folder ``HUB_SEGMENTS_DIR`` names),
audiences one file, ``hub/settings/audiences.yaml`` (or ``HUB_AUDIENCES``). A file that does not validate
stops the run with its name, line and problem before anything is computed or published.
"""

from __future__ import annotations

import os
from pathlib import Path

from hub.access.policy import load_policy
from hub.settings import FOLDER
from hub.settings.documents import DocumentError, load_document
from transforms.segments.audiences import AudienceSettings
from transforms.segments.rules import Segment


def segments_folder() -> Path:
    return Path(os.environ.get("HUB_SEGMENTS_DIR") or FOLDER / "segments")


def audiences_file() -> Path:
    return Path(os.environ.get("HUB_AUDIENCES") or FOLDER / "audiences.yaml")


def load_segments(folder: Path | None = None) -> list[Segment]:
    """Every segment file of the folder, by name; each named once, each for a purpose the policy knows."""
    folder = folder or segments_folder()
    purposes = load_policy().purposes
    found: dict[str, tuple[Segment, Path]] = {}
    for path in sorted(folder.glob("*.yaml")):
        segment = load_document(path, Segment)
        if segment.name in found:
            raise DocumentError(f"{path}: segment {segment.name} is also defined in {found[segment.name][1]}")
        if segment.purpose not in purposes:
            raise DocumentError(f"{path}: purpose {segment.purpose!r} is not one of the access policy's purposes")
        found[segment.name] = (segment, path)
    if not found:
        raise DocumentError(f"{folder}: no segment files (*.yaml)")
    return [segment for segment, _ in found.values()]


def load_audiences(segments: list[Segment], path: Path | None = None) -> AudienceSettings:
    """The audiences file, each audience over a known segment and for a consent purpose."""
    path = path or audiences_file()
    settings = load_document(path, AudienceSettings)
    names = {segment.name for segment in segments}
    consent = load_policy().consent_purposes
    for audience in settings.audiences:
        if audience.segment not in names:
            raise DocumentError(f"{path}: audience {audience.name}: no segment {audience.segment!r}")
        if audience.purpose not in consent:
            raise DocumentError(f"{path}: audience {audience.name}: {audience.purpose!r} is not a consent purpose")
    return settings
