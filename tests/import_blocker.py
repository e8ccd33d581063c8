"""Source of a script preamble that makes packages look uninstalled, for fresh-process tests.

The script's ``HIDDEN`` set names top-level packages to refuse (an import hook raising
ModuleNotFoundError); ``attempt(code)`` runs code and returns the error it raised, or None.
"""

HIDE_PACKAGES = """
import json, sys

HIDDEN = set()

class Hide:
    # an import hook that makes the packages in HIDDEN look uninstalled
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Hide())

def attempt(code):
    try:
        exec(code, {})
    except Exception as error:
        return {"type": type(error).__name__, "import_error": isinstance(error, ImportError),
                "message": str(error)}
    return None
"""
