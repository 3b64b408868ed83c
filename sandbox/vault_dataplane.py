"""Key Vault data plane on https://<vault>.vault.localhost:<port> (placeholder)."""


def mount(app, config):
    return app
