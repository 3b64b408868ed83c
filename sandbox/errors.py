"""Errors in the shapes ARM and APIM use, raised by handlers and rendered by the app."""


class ArmError(Exception):
    """An error answer: ``{"error": {"code", "message"[, "details"]}}``."""

    def __init__(self, status, code, message, details=None, headers=None, apim_shape=False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
        # APIM's own errors carry "details" (null when empty); ARM's front door omits it.
        self.apim_shape = apim_shape or details is not None

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.apim_shape:
            error["details"] = self.details
        return {"error": error}


def validation_error(target, message):
    """APIM's 400 for a bad field (shape from Azure/apiops#749)."""
    return ArmError(400, "ValidationError", "One or more fields contain incorrect values:",
                    details=[{"code": "ValidationError", "target": target, "message": message}])


def entity_not_found(word):
    """APIM's 404 for a missing child entity, e.g. "Certificate not found."."""
    return ArmError(404, "ResourceNotFound", f"{word} not found.", apim_shape=True)


def precondition_failed():
    # Wording is the sandbox's choice; APIM answers 412 with code PreconditionFailed.
    return ArmError(412, "PreconditionFailed",
                    "The entity's ETag does not match the value given in the If-Match header.",
                    apim_shape=True)


def if_match_required():
    # The spec marks If-Match as required on these operations; the exact text APIM sends
    # when it is missing is not documented, so code and message here are a choice.
    return ArmError(400, "InvalidRequest",
                    "The If-Match header is required for this operation. Use '*' to match "
                    "any entity tag.", apim_shape=True)
