"""The command-line tools the checks of deploy/ need, found or refused.

On a developer's machine a missing tool skips its checks, saying how to get it. Under CI (the
variable CI set, or running as root, as .ci/run does) it fails them: a check that CI skips
proves nothing, and a green run would hide that the alerts or manifests were never checked.
"""

import shutil

from shokudo_common.testing import prerequisite_missing

# How each tool gets onto a machine; scripts/infra.sh installs what Debian packages.
HOW_TO_GET = {
    "promtool": "Debian package `prometheus`; `scripts/infra.sh ensure` installs it as root",
    "kubectl": "a machine prerequisite: kubectl 1.27 or later, whose kustomize v5 renders"
               " the overlays; Debian's kubernetes-client (1.20) cannot. See deploy/README.md",
}


def require(tool):
    """The path of ``tool``; skips the test without it, or fails it under CI."""
    path = shutil.which(tool)
    if path is not None:
        return path
    prerequisite_missing(f"{tool} is not installed ({HOW_TO_GET[tool]})")
