"""GET /api/docs through nginx: Swagger UI, served from web/node_modules, renders the API's own
OpenAPI document in Chromium (a screenshot is kept), with no request leaving the exchange."""
from __future__ import annotations

# The page tests' fixtures (a stack with web replicas, Chromium) and their skip when Chromium is missing.
from tests.test_web_page import WAIT_MS, browser, page_on, pytestmark, stack  # noqa: F401


def test_the_api_docs_render_every_path_of_the_document(stack, page_on, tmp_path):  # noqa: F811
    import requests
    from playwright.sync_api import expect

    document = requests.get(f"{stack.base_url}/api/v1/openapi.json", timeout=10).json()
    page = page_on()
    page.goto(f"{stack.base_url}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Exchange REST API", timeout=WAIT_MS)
    paths = page.locator(".opblock-summary-path")
    expect(paths.first).to_be_visible(timeout=WAIT_MS)
    shown = {text.replace("\u200b", "") for text in paths.all_inner_texts()}
    assert shown == set(document["paths"])
    assert page.locator(".opblock").count() == sum(len(methods) for methods in document["paths"].values())
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
    assert (tmp_path / "api-docs.png").stat().st_size > 10_000
