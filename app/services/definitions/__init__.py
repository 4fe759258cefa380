"""Process definitions: deploying bundles, the designer's drafts, deployed versions and roll-back."""
