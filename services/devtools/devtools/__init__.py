"""Development tooling: never imported by a service at run time, never installed in the production image."""
