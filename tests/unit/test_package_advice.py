"""Advice for installing R packages names only packages that exist, in complete sentences (issue 23.9)."""

from __future__ import annotations

from rdeploy_tui.local.package_advice import install_advice, missing_package
from rdeploy_tui.spec import package_names


def test_a_package_debian_has_gets_apt_and_cran_advice():
    assert install_advice(["forecast"]) == (
        "install it here on Debian or Ubuntu: sudo apt-get install -y --no-install-recommends r-cran-forecast; "
        'or in R, from CRAN: install.packages(c("forecast"))'
    )


def test_a_cran_package_debian_lacks_gets_cran_advice_only():
    assert install_advice(["carrier"]) == (
        'install it here in R, from CRAN: install.packages(c("carrier")) (Debian has no r-cran-carrier)'
    )


def test_a_name_that_is_not_known_is_never_advised_for_installing():
    advice = install_advice(["forecast", "forcastt"])
    assert 'install.packages(c("forecast"))' in advice and "r-cran-forcastt" not in advice
    assert advice.endswith(
        f"'forcastt' is not a CRAN package rdeploy-tui knows (its list of CRAN names, {package_names.shipped().date}, "
        "is partial): check the name; did you mean forecast, forcats?"
    )
    assert install_advice(["nosuchpkg"]) == (
        f"'nosuchpkg' is not a CRAN package rdeploy-tui knows (its list of CRAN names, {package_names.shipped().date}, "
        "is partial): check the name"
    )


def test_rs_missing_package_is_found_in_its_message():
    assert missing_package("Error in loadNamespace(x) : there is no package called ‘zoo’") == "zoo"
    assert missing_package("there is no package called 'data.table'") == "data.table"
    assert missing_package("object 'x' not found") is None
