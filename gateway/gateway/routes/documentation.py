"""The API document and its page: what a client developer reads before writing a line."""

from werkzeug.wrappers import Response

from gateway import docs_page, openapi
from gateway.auth import PUBLIC
from gateway.http import ROUTES, json_response, route

# Both change only with a new release of the gateway: browsers and proxies may keep them.
DOCUMENT_CACHE = "public, max-age=300"


class DocumentationRoutes:
    @route("GET", "/openapi.json", serves=PUBLIC, produces="application/json")
    def openapi_document(self, request, caller):
        """The OpenAPI 3 document of every route."""
        response = json_response(_document())
        response.headers["Cache-Control"] = DOCUMENT_CACHE
        return response

    @route("GET", "/docs", serves=PUBLIC, produces="text/html")
    def docs(self, request, caller):
        """The API document as a page to read: routes, who may call them, their shapes."""
        page = docs_page.render(_document())
        return Response(page, mimetype="text/html", headers={
            "Content-Security-Policy": docs_page.POLICY, "Cache-Control": DOCUMENT_CACHE,
        })


_built = {}


def _document():
    """Built once per process: the routes are all declared at import."""
    if "document" not in _built:
        _built["document"] = openapi.build(ROUTES)
    return _built["document"]
