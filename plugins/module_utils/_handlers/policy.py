# -*- coding: utf-8 -*-
# Copyright: mtls.apim contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Policy documents edited as text: the gateway's client certificate of an API or an operation.

A policy is read and written in the 'rawxml' format, where policy expressions (@(...), @{...})
are not XML-escaped. Re-serialising it through an XML library would drop comments, reorder
attributes and re-escape expressions; so the document is scanned with a tolerant scanner that
records where each element starts and ends, and only the elements this module owns are
replaced, inserted or removed. Everything else stays byte for byte. ElementTree is used only to
check that the document (expressions masked) is well-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, unescape

from ansible_collections.mtls.apim.plugins.module_utils import _errors
from ansible_collections.mtls.apim.plugins.module_utils._clients import with_etag
from ansible_collections.mtls.apim.plugins.module_utils._errors import ModuleError

_NAME = re.compile(r'[A-Za-z_:][-A-Za-z0-9_:.]*')
_SPACE = re.compile(r'\s*')
_ENTITY = re.compile(r'&(?:[A-Za-z_][-A-Za-z0-9_.]*|#[0-9]+|#x[0-9A-Fa-f]+);')
_UNESCAPE = {'&quot;': '"', '&apos;': "'"}
_CLOSERS = {'(': ')', '{': '}', '[': ']'}

DEFAULT_POLICY = ('<policies>\n  <inbound>\n    <base />\n  </inbound>\n  <backend>\n    <base />\n  </backend>\n'
                  '  <outbound>\n    <base />\n  </outbound>\n  <on-error>\n    <base />\n  </on-error>\n</policies>')
CERTIFICATE_ELEMENT = 'authentication-certificate'
BACKEND_ELEMENT = 'set-backend-service'


class PolicyError(ModuleError):
    """A policy document this module cannot edit safely (not well-formed, not a policy)."""


class Element:
    """One element of a scanned document, with the offsets of its tags in the text."""

    def __init__(self, name, start, attributes, parent):
        self.name = name
        self.start = start            # offset of '<'
        self.open_end = None          # offset after the start tag's '>'
        self.close_start = None       # offset of '</', None when self-closing
        self.end = None               # offset after the element
        self.attributes = attributes  # [(name, raw value)] in document order
        self.parent = parent
        self.children = []

    def get(self, name):
        """The unescaped value of attribute `name`, or None."""
        for key, value in self.attributes:
            if key == name:
                return unescape(value, _UNESCAPE)
        return None

    def child_elements(self, name=None):
        return [c for c in self.children if name is None or c.name == name]


def _line_col(text, pos):
    line = text.count('\n', 0, pos) + 1
    return line, pos - (text.rfind('\n', 0, pos) + 1) + 1


def _fail(text, pos, what):
    line, col = _line_col(text, pos)
    raise PolicyError('The policy is not well-formed XML: %s at line %d, column %d.' % (what, line, col))


def _skip_expression(text, pos):
    """Offset after the policy expression whose opening bracket is at `pos` ('(' or '{').

    C# string and character literals are skipped, so brackets and quotes inside them do not count.
    """
    stack = [_CLOSERS[text[pos]]]
    i = pos + 1
    n = len(text)
    while i < n:
        char = text[i]
        if char == '"':
            verbatim = text[i - 1] == '@' or (text[i - 1] == '$' and text[i - 2] == '@')
            i += 1
            while i < n:
                if verbatim and text[i] == '"':
                    if text[i + 1:i + 2] == '"':
                        i += 2
                        continue
                    break
                if not verbatim and text[i] == '\\':
                    i += 2
                    continue
                if text[i] == '"':
                    break
                i += 1
        elif char == "'":
            close = re.compile(r"(?:\\.|[^'\\])*'").match(text, i + 1)
            if close is not None and close.end() - i <= 10:  # a character literal, not an apostrophe in prose
                i = close.end() - 1
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif char in ')}]':
            if char != stack[-1]:
                _fail(text, i, 'unbalanced %r in a policy expression' % char)
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    _fail(text, pos - 1, 'a policy expression that is never closed')
    return n  # not reached


def _is_expression(text, pos):
    return text.startswith(('@(', '@{'), pos)


class Document:
    """A scanned policy document: its text, its element tree and the spans of policy expressions."""

    def __init__(self, text):
        self.text = text
        self.expressions = []  # [(start, end)]
        self.root = self._scan()
        self._validate()

    def _scan(self):
        text, n = self.text, len(self.text)
        top = Element('#document', 0, [], None)
        stack = [top]
        pos = 0
        marker = re.compile(r'[<@]')
        while True:
            found = marker.search(text, pos)
            if found is None:
                break
            pos = found.start()
            if text[pos] == '@':
                if _is_expression(text, pos):
                    end = _skip_expression(text, pos + 1)
                    self.expressions.append((pos, end))
                    pos = end
                else:
                    pos += 1
                continue
            for opener, closer, what in (('<!--', '-->', 'a comment'), ('<![CDATA[', ']]>', 'a CDATA section'),
                                         ('<?', '?>', 'a processing instruction'), ('<!', '>', 'a declaration')):
                if text.startswith(opener, pos):
                    end = text.find(closer, pos + len(opener))
                    if end < 0:
                        _fail(text, pos, '%s that is never closed' % what)
                    pos = end + len(closer)
                    break
            else:
                if text.startswith('</', pos):
                    pos = self._end_tag(stack, pos)
                else:
                    name = _NAME.match(text, pos + 1)
                    if name is None:
                        _fail(text, pos, "a '<' that starts no element")
                    pos = self._start_tag(stack, pos, name)
        if len(stack) > 1:
            _fail(text, stack[-1].start, 'element <%s> is never closed' % stack[-1].name)
        roots = top.child_elements()
        if len(roots) != 1:
            _fail(text, n, 'a document needs exactly one root element, found %d' % len(roots))
        return roots[0]

    def _start_tag(self, stack, start, name):
        text = self.text
        attributes = []
        pos = name.end()
        while True:
            pos = _SPACE.match(text, pos).end()
            if text.startswith('/>', pos) or text.startswith('>', pos):
                break
            attribute = _NAME.match(text, pos)
            if attribute is None:
                _fail(text, pos, 'unexpected text in the tag <%s>' % name.group())
            pos = _SPACE.match(text, attribute.end()).end()
            if not text.startswith('=', pos):
                _fail(text, pos, "attribute %s of <%s> has no '='" % (attribute.group(), name.group()))
            pos = _SPACE.match(text, pos + 1).end()
            quote = text[pos:pos + 1]
            if quote not in ('"', "'"):
                _fail(text, pos, 'attribute %s of <%s> has no quoted value' % (attribute.group(), name.group()))
            value_start = pos + 1
            if _is_expression(text, value_start):
                # rawxml: an expression in an attribute may hold the attribute's own quote character.
                expression_end = _skip_expression(text, value_start + 1)
                self.expressions.append((value_start, expression_end))
                close = text.find(quote, expression_end)
            else:
                close = text.find(quote, value_start)
            if close < 0:
                _fail(text, pos, 'the value of attribute %s is never closed' % attribute.group())
            attributes.append((attribute.group(), text[value_start:close]))
            pos = close + 1
        element = Element(name.group(), start, attributes, stack[-1])
        stack[-1].children.append(element)
        if text.startswith('/>', pos):
            element.open_end = element.end = pos + 2
        else:
            element.open_end = pos + 1
            stack.append(element)
        return element.open_end

    def _end_tag(self, stack, start):
        text = self.text
        name = _NAME.match(text, start + 2)
        if name is None:
            _fail(text, start, 'an end tag without a name')
        pos = _SPACE.match(text, name.end()).end()
        if not text.startswith('>', pos):
            _fail(text, pos, "end tag </%s> without '>'" % name.group())
        if len(stack) == 1:
            _fail(text, start, 'end tag </%s> without a start tag' % name.group())
        element = stack.pop()
        if element.name != name.group():
            line, _col = _line_col(text, element.start)
            _fail(text, start, 'end tag </%s> does not match <%s> opened on line %d'
                  % (name.group(), element.name, line))
        element.close_start = start
        element.end = pos + 1
        return element.end

    def masked(self):
        """The text with every policy expression and stray '&' made neutral, for an XML parser."""
        text = self.text
        parts, last = [], 0
        for start, end in sorted(self.expressions):
            parts.append(text[last:start])
            parts.append('x' * (end - start))
            last = end
        parts.append(text[last:])
        masked = ''.join(parts)
        # rawxml leaves '&' unescaped in places; only a broken entity reference is the parser's business.
        return re.sub(r'&(?![A-Za-z_#][^;&<>\s]*;)', '&amp;', masked)

    def _validate(self):
        try:
            ET.fromstring(self.masked())
        except ET.ParseError as exc:
            line, col = getattr(exc, 'position', (0, 0))
            raise PolicyError('The policy is not well-formed XML: %s (line %d, column %d).'
                              % (str(exc).split(':', maxsplit=1)[0], line, col + 1)) from None
        if self.root.name != 'policies':
            raise PolicyError('The policy document has the root element <%s>; a policy starts with <policies>.'
                              % self.root.name)

    def section(self, name):
        found = self.root.child_elements(name)
        return found[0] if found else None


# -- comparison ---------------------------------------------------------------------------------
def canonical(text):
    """The policy without insignificant whitespace: between elements, inside tags, around text."""
    text = re.sub(r'>\s+<', '><', text.strip())
    text = re.sub(r'\s+(/?>)', r'\1', text)
    return re.sub(r'\s+', ' ', text)


def same_policy(left, right):
    return canonical(left or '') == canonical(right or '')


# -- text surgery ---------------------------------------------------------------------------------
def _line_start(text, pos):
    return text.rfind('\n', 0, pos) + 1


def _indent_of(text, element):
    """The whitespace before `element` when it starts its line, else None."""
    before = text[_line_start(text, element.start):element.start]
    return before if not before.strip() else None


def _replace(text, start, end, new):
    return text[:start] + new + text[end:]


def remove_element(text, element):
    """Remove an element; when it stands alone on its line, the whole line goes."""
    line_start = _line_start(text, element.start)
    line_end = text.find('\n', element.end)
    line_end = len(text) if line_end < 0 else line_end
    if not text[line_start:element.start].strip() and not text[element.end:line_end].strip():
        if line_end < len(text):
            return text[:line_start] + text[line_end + 1:]
        return text[:line_start].rstrip(' \t').rstrip('\n') + text[line_end:]
    return text[:element.start] + text[element.end:]


def _child_indent(text, parent):
    for child in parent.children:
        indent = _indent_of(text, child)
        if indent is not None:
            return indent
    indent = _indent_of(text, parent)
    if indent is None:
        return None
    return indent + (indent if indent else '  ')


def insert_after(text, anchor, new):
    """Insert `new` after the element `anchor`, on its own line with anchor's indentation when it has one."""
    indent = _indent_of(text, anchor)
    return _replace(text, anchor.end, anchor.end, new if indent is None else '\n' + indent + new)


def insert_first(text, parent, new):
    """Insert `new` as the first child of `parent` (which may be self-closing)."""
    indent = _child_indent(text, parent)
    parent_indent = _indent_of(text, parent)
    if parent.close_start is None:
        tag = text[parent.start:parent.end]
        open_tag = tag[:-2].rstrip() + '>'
        if indent is None or parent_indent is None:
            body = new
        else:
            body = '\n' + indent + new + '\n' + parent_indent
        return _replace(text, parent.start, parent.end, open_tag + body + '</%s>' % parent.name)
    return _replace(text, parent.open_end, parent.open_end, new if indent is None else '\n' + indent + new)


def element_text(name, **attributes):
    attrs = ''.join(' %s="%s"' % (key.replace('_', '-'), escape(value, {'"': '&quot;'}))
                    for key, value in attributes.items())
    return '<%s%s />' % (name, attrs)


def _inbound(text):
    """(document, inbound element), adding an inbound section (with <base />) when there is none."""
    document = Document(text)
    inbound = document.section('inbound')
    if inbound is not None:
        return document, inbound
    indent = _child_indent(text, document.root)
    if indent is None:
        section = '<inbound><base /></inbound>'
    else:
        section = '<inbound>\n%s%s<base />\n%s</inbound>' % (indent, indent, indent)
    document = Document(insert_first(text, document.root, section))
    return document, document.section('inbound')


def _binding_view(element):
    """What a gateway credential element binds, without secrets (password, body)."""
    view = dict(element=element.name)
    for key in ('certificate-id', 'thumbprint', 'backend-id', 'base-url'):
        if element.get(key) is not None:
            view[key.replace('-', '_')] = element.get(key)
    if element.get('body') is not None:
        view['body'] = '(certificate from the request body or an expression)'
    return view


def _is_binding_to(element, certificate_id, thumbprint):
    value = element.get('certificate-id')
    if value is not None and value.lower() == certificate_id.lower():
        return True
    value = element.get('thumbprint')
    return bool(thumbprint and value and value.upper() == thumbprint.upper())


def bind(text, certificate_id, backend_id=None):
    """(new text, [replaced bindings]): the inbound section holds exactly one gateway client certificate,
    `certificate_id`, and, when `backend_id` is given, one set-backend-service naming it."""
    replaced = []
    text = text if text and text.strip() else DEFAULT_POLICY
    document, inbound = _inbound(text)
    text = document.text
    wanted = element_text(CERTIFICATE_ELEMENT, certificate_id=certificate_id)
    bindings = inbound.child_elements(CERTIFICATE_ELEMENT)
    good = [b for b in bindings if b.get('certificate-id') is not None and b.get('thumbprint') is None
            and b.get('body') is None and b.get('certificate-id').lower() == certificate_id.lower()]
    if good:
        keep = good[0]
    elif bindings:
        keep = bindings[0]
    else:
        keep = None
    for element in reversed(bindings):
        if element is keep:
            continue
        replaced.append(_binding_view(element))
        text = remove_element(text, element)
    if keep is not None and keep not in good:
        document, inbound = _inbound(text)
        keep = inbound.child_elements(CERTIFICATE_ELEMENT)[0]
        replaced.append(_binding_view(keep))
        text = _replace(text, keep.start, keep.end, wanted)
    elif keep is None:
        document, inbound = _inbound(text)
        base = inbound.child_elements('base')
        text = insert_after(text, base[0], wanted) if base else insert_first(text, inbound, wanted)
    if backend_id:
        text, backend_replaced = _bind_backend(text, backend_id)
        replaced.extend(backend_replaced)
    Document(text)  # the result must be as well-formed as the input
    return text, replaced


def _bind_backend(text, backend_id):
    replaced = []
    document, inbound = _inbound(text)
    wanted = element_text(BACKEND_ELEMENT, backend_id=backend_id)
    current = inbound.child_elements(BACKEND_ELEMENT)
    good = [e for e in current if (e.get('backend-id') or '').lower() == backend_id.lower()
            and e.get('base-url') is None]
    if good:
        return text, replaced
    if current:
        replaced.append(_binding_view(current[0]))
        return _replace(text, current[0].start, current[0].end, wanted), replaced
    anchor = inbound.child_elements(CERTIFICATE_ELEMENT)[0]
    return insert_after(text, anchor, wanted), replaced


def unbind(text, certificate_id=None, thumbprint=None, backend_id=None):
    """(new text, [removed bindings]): remove the gateway client certificate `certificate_id` (by id, or
    by `thumbprint`; any when `certificate_id` is None) and the set-backend-service naming `backend_id`."""
    removed = []
    if not text or not text.strip():
        return text, removed
    document = Document(text)
    inbound = document.section('inbound')
    if inbound is None:
        return text, removed
    targets = [e for e in inbound.child_elements(CERTIFICATE_ELEMENT)
               if certificate_id is None or _is_binding_to(e, certificate_id, thumbprint)]
    if backend_id:
        targets.extend(e for e in inbound.child_elements(BACKEND_ELEMENT)
                       if (e.get('backend-id') or '').lower() == backend_id.lower())
    for element in sorted(targets, key=lambda e: e.start, reverse=True):
        removed.append(_binding_view(element))
        text = remove_element(text, element)
    if removed:
        Document(text)
    return text, list(reversed(removed))


def current_binding(text):
    """The gateway client certificate bindings of a policy's inbound section, as views."""
    if not text or not text.strip():
        return []
    inbound = Document(text).section('inbound')
    if inbound is None:
        return []
    return [_binding_view(e) for e in inbound.child_elements(CERTIFICATE_ELEMENT)]


_PASSWORD = re.compile(r'''(\bpassword\s*=\s*)("[^"]*"|'[^']*')''')


def hide_passwords(text):
    """The policy for a diff, with password attribute values hidden."""
    return _PASSWORD.sub(lambda m: '%s%s********%s' % (m.group(1), m.group(2)[0], m.group(2)[0]), text or '')


def _capitalised(text):
    return text[:1].upper() + text[1:]


# -- the service ----------------------------------------------------------------------------------
class PolicyScope:
    """The policy of one API, or of one operation of it, read and written as rawxml."""

    def __init__(self, client, resource_group, service_name, api, operation=None):
        self.client = client
        self.resource_group = resource_group
        self.service_name = service_name
        self.api = api
        self.operation = operation

    def describe(self):
        if self.operation:
            return 'the policy of operation %s of API %s' % (self.operation, self.api)
        return 'the policy of API %s' % self.api

    @_errors.read('Reading the API')
    def _get_api(self):
        return self.client.api.get(self.resource_group, self.service_name, self.api)

    @_errors.read('Reading the API operation')
    def _get_operation(self):
        return self.client.api_operation.get(self.resource_group, self.service_name, self.api, self.operation)

    def require(self):
        """Fail, naming the option, when the API or the operation does not exist."""
        if self._get_api() is None:
            raise ModuleError('api %r: no API of that id in service %s (resource group %s).'
                              % (self.api, self.service_name, self.resource_group))
        if self.operation and self._get_operation() is None:
            raise ModuleError('operation %r: API %s has no operation of that id.' % (self.operation, self.api))

    @_errors.read('Reading the policy')
    def get(self):
        """(policy text, etag) or None when the scope has no policy."""
        rg, svc = self.resource_group, self.service_name
        if self.operation:
            found = self.client.api_operation_policy.get(rg, svc, self.api, self.operation, 'policy',
                                                         format='rawxml', cls=with_etag)
        else:
            found = self.client.api_policy.get(rg, svc, self.api, 'policy', format='rawxml', cls=with_etag)
        policy, etag = found
        return policy.value or '', etag

    def put(self, text, etag):
        try:
            return self._put(text, etag)
        except _errors.AzureError as exc:
            if exc.status != 412:
                raise
            raise ModuleError('%s changed while this task ran (its ETag no longer matches); nothing was '
                              'overwritten. Run the task again to apply the change to the new version.'
                              % _capitalised(self.describe()), status=412) from None

    @_errors.write('Writing the policy')
    def _put(self, text, etag):
        from azure.mgmt.apimanagement.models import PolicyContract

        rg, svc = self.resource_group, self.service_name
        parameters = PolicyContract(value=text, format='rawxml')
        kwargs = {'if_match': etag} if etag else {}
        if self.operation:
            return self.client.api_operation_policy.create_or_update(rg, svc, self.api, self.operation, 'policy',
                                                                     parameters, **kwargs)
        return self.client.api_policy.create_or_update(rg, svc, self.api, 'policy', parameters, **kwargs)
