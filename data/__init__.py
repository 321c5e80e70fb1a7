"""Data shipped with carecircle: policy profiles (``policies/``) and the demo district (``demo/``)."""
