"""Load the official Azure REST API specs (Swagger 2.0) and validate JSON bodies against them.

The specs are not part of this repository. They are read from the folder named by
``MTLS_APIM_SPECS_DIR`` or, by default, from ``<repo>/../shared/specs`` (a copy of
Azure/azure-rest-api-specs, see its SOURCES.md).

Swagger schemas are converted once into one Draft 4 definitions table per mode:

- ``$ref`` (same file or relative file, JSON pointer with ``~0``/``~1``/%-unescaping) becomes a
  local ``#/definitions/<key>`` so recursive types (``ErrorDetail.details``) stay finite;
  a ref to a file that is not present becomes ``{}`` (accept anything) and is recorded in
  ``SpecSet.unresolved``;
- ``x-nullable: true`` allows ``null``;
- ``readOnly`` properties are not required in *request* mode (the SDKs never send them);
- ``discriminator`` is handled loosely: the instance is validated against the schema that is
  referenced (the base); none of the specs present declare one.

Instances are validated after dropping ``null`` object members: ARM writes ``null`` for unset
optional properties, the specs treat them as absent (a required property that is null therefore
still counts as missing).
"""

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import jsonschema

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_ENV = "MTLS_APIM_SPECS_DIR"

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")

# Swagger keywords that mean the same in JSON Schema Draft 4.
_PLAIN_KEYWORDS = (
    "type", "format", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
    "multipleOf", "minProperties", "maxProperties",
)

# Loose RFC 3339: Azure writes fractional seconds of any length and sometimes no offset.
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value):
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@FORMAT_CHECKER.checks("uuid")
def _is_uuid(value):
    return not isinstance(value, str) or bool(_UUID.match(value))


def specs_dir():
    """The folder holding ``specification/...``: ``$MTLS_APIM_SPECS_DIR``, else ``shared/specs`` beside the
    repository (``<repo>/../shared/specs``) or beside one of its ancestors, for clones made one level deeper."""
    configured = os.environ.get(SPECS_ENV)
    if configured:
        return Path(configured)
    for ancestor in REPO_ROOT.parents:
        candidate = ancestor / "shared" / "specs"
        if (candidate / "specification").is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "specs"


def specs_missing_reason(root=None):
    """Why the specs cannot be used, or None when they can."""
    root = Path(root) if root else specs_dir()
    if not (root / "specification").is_dir():
        how = f"${SPECS_ENV}" if os.environ.get(SPECS_ENV) else f"default <repo>/../shared/specs (or set ${SPECS_ENV})"
        return f"Azure REST API specs not found at {root} ({how})"
    return None


def drop_nulls(value):
    """Remove ``null`` object members, recursively (array items are kept)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def _unescape_pointer_token(token):
    return unquote(token).replace("~1", "/").replace("~0", "~")


def _escape_pointer_token(token):
    return token.replace("~", "~0").replace("/", "~1")


def _api_date(version):
    """'2024-05-01' or '2024-05-01-preview' -> (2024, 5, 1); anything else sorts first."""
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", version or "")
    return tuple(int(g) for g in match.groups()) if match else (0, 0, 0)


class UnresolvedRef(LookupError):
    pass


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    spec_file: str          # relative to the specs root
    api_version: str
    raw: dict = field(repr=False)
    path_params: list = field(repr=False, default_factory=list)
    _regex: re.Pattern = field(repr=False, default=None)

    @property
    def literal_weight(self):
        """How specific the template is: literal characters outside ``{params}``."""
        return len(re.sub(r"\{[^}]+\}", "", self.template))


class SpecSet:
    """All Swagger files under a specs root, with operation lookup and body validation."""

    def __init__(self, root=None):
        self.root = (Path(root) if root else specs_dir()).resolve()
        self._docs = {}
        self.unresolved = set()
        self.operations = []
        self._defs = {"response": {}, "request": {}}
        self._keys = {"response": {}, "request": {}}
        self._validators = {}
        for path in sorted(self.root.glob("specification/**/*.json")):
            if "examples" in path.relative_to(self.root).parts:
                continue
            doc = self._doc(path)
            if isinstance(doc, dict) and doc.get("swagger") == "2.0":
                self._index_operations(path, doc)

    # -- loading and $ref resolution ---------------------------------------------------------

    def _doc(self, path):
        path = Path(os.path.normpath(path))
        if path not in self._docs:
            with open(path, encoding="utf-8-sig") as handle:
                self._docs[path] = json.load(handle)
        return self._docs[path]

    def rel(self, path):
        return Path(path).relative_to(self.root).as_posix()

    def resolve_ref(self, ref, base_file):
        """Return (file, pointer, target) for a ``$ref`` written in ``base_file``."""
        file_part, _, pointer = ref.partition("#")
        target_file = Path(os.path.normpath(Path(base_file).parent / unquote(file_part))) if file_part else Path(base_file)
        if not target_file.is_file():
            raise UnresolvedRef(f"{ref} (from {self.rel(base_file)}): file not present")
        node = self._doc(target_file)
        for token in [t for t in pointer.split("/") if t]:
            token = _unescape_pointer_token(token)
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError):
                raise UnresolvedRef(f"{ref} (from {self.rel(base_file)}): pointer not found") from None
        return target_file, pointer, node

    def _deref(self, node, base_file):
        """Follow ``$ref`` chains of a non-schema node (parameter, response)."""
        while isinstance(node, dict) and "$ref" in node:
            base_file, _, node = self.resolve_ref(node["$ref"], base_file)
        return node, base_file

    # -- operations ---------------------------------------------------------------------------

    def _index_operations(self, path, doc):
        version = doc.get("info", {}).get("version", "")
        all_paths = dict(doc.get("paths") or {})
        all_paths.update(doc.get("x-ms-paths") or {})
        for template, item in all_paths.items():
            shared_params = item.get("parameters", [])
            for method in HTTP_METHODS:
                raw = item.get(method)
                if not raw:
                    continue
                params = [self._deref(p, path) for p in shared_params + raw.get("parameters", [])]
                op = Operation(raw.get("operationId", ""), method, template, self.rel(path), version,
                               raw, params)
                op._regex = self._template_regex(template.split("?")[0], params)
                self.operations.append(op)

    @staticmethod
    def _template_regex(template, params):
        greedy = {p.get("name") for p, _ in params if p.get("in") == "path" and p.get("x-ms-skip-url-encoding")}
        out, pos = [], 0
        for match in re.finditer(r"\{([^}]+)\}", template):
            out.append(re.escape(template[pos:match.start()]))
            # Empty segments are allowed: the Key Vault SDKs ask for ``/secrets/{name}/`` (latest).
            out.append(".+" if match.group(1) in greedy else "[^/]*")
            pos = match.end()
        out.append(re.escape(template[pos:]))
        return re.compile("^" + "".join(out) + "/?$", re.IGNORECASE)

    def find_operation(self, method, path, api_version=None, operation_id=None):
        """The spec operation for a concrete request path (no query string).

        Among matching templates the most specific one wins; among files with that template the
        one whose api-version equals ``api_version`` wins, else the nearest version present.
        ``operation_id`` restricts the candidates (``/{roleAssignmentId}`` matches any path).
        """
        method = method.lower()
        path = unquote(path.split("?")[0])
        matches = [op for op in self.operations if op.method == method and op._regex.match(path)
                   and (operation_id is None or op.operation_id.lower() == operation_id.lower())]
        if not matches:
            return None
        best_weight = max(op.literal_weight for op in matches)
        matches = [op for op in matches if op.literal_weight == best_weight]
        target = _api_date(api_version)

        def distance(op):
            d = _api_date(op.api_version)
            exact = op.api_version == api_version
            return (not exact, abs((d[0] * 372 + d[1] * 31 + d[2]) - (target[0] * 372 + target[1] * 31 + target[2])))
        return min(matches, key=distance)

    def operations_by_id(self, operation_id):
        return [op for op in self.operations if op.operation_id.lower() == operation_id.lower()]

    def body_parameter(self, op):
        for param, _ in op.path_params:
            if param.get("in") == "body":
                return param
        return None

    def body_schema_ref(self, op):
        for param, base in op.path_params:
            if param.get("in") == "body":
                return param.get("schema"), base
        return None, None

    def response_schema_ref(self, op, status):
        responses = op.raw.get("responses", {})
        response = responses.get(str(status))
        if response is None:
            response = responses.get("default")
        if response is None:
            return None, None, None
        response, base = self._deref(response, self.root / op.spec_file)
        return response.get("schema"), base, str(status) if str(status) in responses else "default"

    # -- schema conversion --------------------------------------------------------------------

    def _key_for(self, mode, file, pointer):
        keys = self._keys[mode]
        ident = (file, pointer)
        if ident not in keys:
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{Path(file).stem}.{pointer.strip('/').split('/')[-1]}")
            key, n = name, 1
            while key in self._defs[mode]:
                n += 1
                key = f"{name}.{n}"
            keys[ident] = key
            self._defs[mode][key] = None  # placeholder: breaks recursion
            _, _, target = self.resolve_ref(f"#{pointer}", file)
            self._defs[mode][key] = self._convert(target, file, mode)
        return keys[ident]

    def _convert(self, schema, base_file, mode):
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema:
            try:
                target_file, pointer, _ = self.resolve_ref(schema["$ref"], base_file)
            except UnresolvedRef as err:
                self.unresolved.add(str(err))
                return {}
            converted = {"$ref": "#/definitions/" + _escape_pointer_token(self._key_for(mode, target_file, pointer))}
            if schema.get("x-nullable"):
                converted = {"anyOf": [converted, {"type": "null"}]}
            return converted
        out = {k: schema[k] for k in _PLAIN_KEYWORDS if k in schema}
        if out.get("type") == "file":
            out.pop("type")
        if "items" in schema:
            out["items"] = self._convert(schema["items"], base_file, mode)
        if "properties" in schema:
            out["properties"] = {name: self._convert(sub, base_file, mode)
                                 for name, sub in schema["properties"].items()}
        if "additionalProperties" in schema:
            extra = schema["additionalProperties"]
            out["additionalProperties"] = extra if isinstance(extra, bool) else self._convert(extra, base_file, mode)
        if "allOf" in schema:
            out["allOf"] = [self._convert(sub, base_file, mode) for sub in schema["allOf"]]
        required = list(schema.get("required", []))
        if mode == "request":
            props = schema.get("properties", {})
            required = [name for name in required if not self._is_read_only(props.get(name), base_file)]
        if required:
            out["required"] = required
        if schema.get("x-nullable"):
            if "type" in out:
                out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        return out

    def _is_read_only(self, prop, base_file):
        if not isinstance(prop, dict):
            return False
        if prop.get("readOnly"):
            return True
        if "$ref" in prop:
            try:
                _, _, target = self.resolve_ref(prop["$ref"], base_file)
            except UnresolvedRef:
                return False
            return bool(isinstance(target, dict) and target.get("readOnly"))
        return False

    def validator_for(self, schema, base_file, mode):
        """A Draft 4 validator for a Swagger schema node found in ``base_file``."""
        ident = (id(schema), str(base_file), mode)
        if ident not in self._validators:
            root = self._convert(schema, base_file, mode)
            # The definitions table grows while converting; validators share it by reference.
            root = dict(root, definitions=self._defs[mode])
            self._validators[ident] = (schema, jsonschema.Draft4Validator(root, format_checker=FORMAT_CHECKER))
        return self._validators[ident][1]

    # -- validation ---------------------------------------------------------------------------

    def errors(self, schema, base_file, mode, instance):
        """Readable error strings (empty when valid) for ``instance`` against a Swagger schema."""
        validator = self.validator_for(schema, base_file, mode)
        found = []
        for error in sorted(validator.iter_errors(drop_nulls(instance)), key=lambda e: list(e.path)):
            where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            detail = error.message
            if error.context:
                detail += " | " + "; ".join(sorted({c.message for c in error.context}))[:400]
            found.append(f"{where}: {detail[:600]}")
        return found

    def response_errors(self, op, status, body):
        schema, base, _ = self.response_schema_ref(op, status)
        if schema is None:
            return [] if body in (None, b"", "") else [f"spec declares no body for {status}, got one"]
        if body is None:
            return [f"spec declares a body for {status}, got none"]
        return self.errors(schema, base, "response", body)

    def request_errors(self, op, body):
        schema, base = self.body_schema_ref(op)
        if schema is None:
            return [] if body in (None, b"", "") else ["spec declares no body parameter, got one"]
        if body is None:
            return [] if not self.body_parameter(op).get("required") else ["body parameter required, got none"]
        return self.errors(schema, base, "request", body)


_LOADED = {}


def load_or_skip():
    """The SpecSet, or skip the calling module (fail it when ``CI=true``) when specs are absent."""
    import pytest

    reason = specs_missing_reason()
    if reason:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason}; CI=true requires them", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    root = specs_dir().resolve()
    if root not in _LOADED:
        _LOADED[root] = SpecSet(root)
    return _LOADED[root]


def _merged(spec_set, schema, mode, seen=()):
    """(properties, additionalProperties) of a converted schema, through $ref, allOf, anyOf."""
    while "$ref" in schema:
        key = _unescape_pointer_token(schema["$ref"].rsplit("/", 1)[-1])
        if key in seen:
            return {}, None
        seen += (key,)
        schema = spec_set._defs[mode][key] or {}
    props, extra = dict(schema.get("properties", {})), schema.get("additionalProperties")
    for sub in schema.get("allOf", []) + schema.get("anyOf", []):
        sub_props, sub_extra = _merged(spec_set, sub, mode, seen)
        props.update(sub_props)
        extra = extra if extra is not None else sub_extra
    return props, extra


def undocumented_properties(spec_set, schema, base_file, mode, instance):
    """JSON paths of object members the spec does not declare (Swagger allows them; ARM's
    clients ignore them, so a test double that invents fields would mislead its users)."""
    spec_set.validator_for(schema, base_file, mode)  # fills the definitions table
    found = []

    def walk(conv, value, where):
        props, extra = _merged(spec_set, conv, mode)
        item_schema = conv
        while "$ref" in item_schema:
            item_schema = spec_set._defs[mode][_unescape_pointer_token(item_schema["$ref"].rsplit("/", 1)[-1])] or {}
        if isinstance(value, dict):
            if not props:
                if isinstance(extra, dict):
                    for k, v in value.items():
                        walk(extra, v, f"{where}.{k}")
                return  # free-form object
            for k, v in value.items():
                if k in props:
                    walk(props[k], v, f"{where}.{k}")
                elif isinstance(extra, dict):
                    walk(extra, v, f"{where}.{k}")
                elif extra is not True:
                    found.append(f"{where}.{k}")
        elif isinstance(value, list) and isinstance(item_schema.get("items"), dict):
            for i, v in enumerate(value):
                walk(item_schema["items"], v, f"{where}[{i}]")

    walk(spec_set._convert(schema, base_file, mode), drop_nulls(instance), "$")
    return found
