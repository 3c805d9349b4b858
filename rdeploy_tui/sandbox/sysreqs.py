"""R packages that need system libraries, and what a build without them does (the sandbox's sysreqs table).

Source: Posit's r-system-requirements rules (https://github.com/rstudio/r-system-requirements, rules/*.json: which
Ubuntu packages each SystemRequirements field maps to), which `pak::pkg_sysreqs()` and Posit Package Manager use; the
package -> library pairs are those packages' DESCRIPTION SystemRequirements. The table is small on purpose: well-known
packages users deploy, not all of CRAN (a package not listed is taken to need nothing).

What happens without the library (how R fails, as R prints it):
- from a BINARY repository (Posit Package Manager, what rocker images use) the package installs, then fails to LOAD:
  "unable to load shared object '.../sf/libs/sf.so': libgdal.so.34: cannot open shared object file: ...";
- from a SOURCE repository (r-base's cloud.r-project.org) it fails to INSTALL ("configuration failed for package").
A Dockerfile provides a library by installing it with apt (`apt-get install ... libgdal-dev`), or by installing the
packages with pak, which installs system requirements itself (pak >= 0.6, as root, on Ubuntu/Debian).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemLibrary:
    key: str
    apt: str  # the Ubuntu package Posit's rule installs
    provided_by: str  # regex of apt package names that provide it (dev or runtime)
    shared_object: str  # what the dynamic loader then misses
    everywhere_at_runtime: bool = False  # R itself links it, so binaries load on any R image


LIBRARIES = {
    lib.key: lib
    for lib in [
        SystemLibrary("gdal", "libgdal-dev", r"libgdal", "libgdal.so.34"),
        SystemLibrary("geos", "libgeos-dev", r"libgeos", "libgeos_c.so.1"),
        SystemLibrary("proj", "libproj-dev", r"libproj", "libproj.so.25"),
        SystemLibrary("udunits", "libudunits2-dev", r"libudunits2", "libudunits2.so.0"),
        SystemLibrary("odbc", "unixodbc-dev", r"unixodbc|libodbc", "libodbc.so.2"),
        SystemLibrary("libxml2", "libxml2-dev", r"libxml2", "libxml2.so.2"),
        SystemLibrary("libcurl", "libcurl4-openssl-dev", r"libcurl", "libcurl.so.4", True),
        SystemLibrary("libssl", "libssl-dev", r"libssl", "libssl.so.3", True),
        SystemLibrary("glpk", "libglpk-dev", r"libglpk", "libglpk.so.40"),
        SystemLibrary("gmp", "libgmp3-dev", r"libgmp", "libgmp.so.10"),
        SystemLibrary("java", "default-jdk", r"default-j[dr]k|openjdk", "libjvm.so"),
        SystemLibrary("libpq", "libpq-dev", r"libpq", "libpq.so.5"),
        SystemLibrary("mysql", "libmariadb-dev", r"libmariadb|libmysqlclient", "libmariadb.so.3"),
        SystemLibrary("magick", "libmagick++-dev", r"libmagick", "libMagick++-6.Q16.so.8"),
        SystemLibrary("libgit2", "libgit2-dev", r"libgit2", "libgit2.so.1.7"),
        SystemLibrary("libsodium", "libsodium-dev", r"libsodium", "libsodium.so.23"),
        SystemLibrary("freetype", "libfreetype6-dev", r"libfreetype", "libfreetype.so.6"),
        SystemLibrary("harfbuzz", "libharfbuzz-dev", r"libharfbuzz", "libharfbuzz.so.0"),
        SystemLibrary("fribidi", "libfribidi-dev", r"libfribidi", "libfribidi.so.0"),
        SystemLibrary("v8", "libnode-dev", r"libnode|libv8", "libnode.so.109"),
    ]
}

# package -> the libraries it needs (DESCRIPTION SystemRequirements, mapped by Posit's rules)
SYSREQS: dict[str, tuple[str, ...]] = {
    "sf": ("gdal", "geos", "proj", "udunits"),
    "terra": ("gdal", "geos", "proj"),
    "rgdal": ("gdal", "proj"),
    "rgeos": ("geos",),
    "lwgeom": ("geos", "proj"),
    "units": ("udunits",),
    "odbc": ("odbc",),
    "xml2": ("libxml2",),
    "XML": ("libxml2",),
    "curl": ("libcurl",),
    "openssl": ("libssl",),
    "igraph": ("glpk", "gmp", "libxml2"),
    "gmp": ("gmp",),
    "rJava": ("java",),
    "RPostgres": ("libpq",),
    "RMariaDB": ("mysql",),
    "magick": ("magick",),
    "gert": ("libgit2",),
    "sodium": ("libsodium",),
    "systemfonts": ("freetype",),
    "textshaping": ("freetype", "harfbuzz", "fribidi"),
    "V8": ("v8",),
}


def apt_installed(run_commands: list[str]) -> set[str]:
    """Library keys that the Dockerfile's apt-get/apt install lines provide."""
    text = " ".join(cmd for cmd in run_commands if re.search(r"\bapt(-get)?\s+(-\S+\s+)*install\b", cmd))
    return {key for key, lib in LIBRARIES.items() if re.search(rf"(?<![\w-])(?:{lib.provided_by})", text)}


def missing(package: str, provided: set[str], *, binary: bool) -> list[SystemLibrary]:
    """The libraries `package` lacks in an image that provides `provided` (keys)."""
    needed = [LIBRARIES[key] for key in SYSREQS.get(package, ())]
    return [lib for lib in needed if lib.key not in provided and not (binary and lib.everywhere_at_runtime)]


def load_error(package: str, lib: SystemLibrary) -> str:
    """conditionMessage() of loadNamespace() for a binary package whose library is absent (R 4.x wording)."""
    return (
        f"unable to load shared object '/usr/local/lib/R/site-library/{package}/libs/{package}.so':\n"
        f"  {lib.shared_object}: cannot open shared object file: No such file or directory"
    )


def configure_failure(package: str, libs: list[SystemLibrary]) -> list[str]:
    """What a source install prints when the library's headers are absent."""
    names = " ".join(lib.apt for lib in libs)
    return [
        f"* installing *source* package ‘{package}’ ...",
        "** package successfully unpacked and MD5 sums checked",
        "** using staged installation",
        "--------------------------- [ANTICONF] --------------------------------",
        "Configuration failed because a system library was not found. Try installing:",
        f" * deb: {names} (Debian, Ubuntu, etc)",
        "-------------------------- [ERROR MESSAGE] ---------------------------",
        f"ERROR: configuration failed for package ‘{package}’",
        f"* removing ‘/usr/local/lib/R/site-library/{package}’",
    ]
