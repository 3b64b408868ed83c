import sys

from specs import REPO_ROOT

# The sandbox package lives at the repository root; pytest's rootdir is not on sys.path by itself.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
