// The Router, Request helpers and URL helpers, without a network.
#include <gtest/gtest.h>

#include "server/http_server.h"
#include "server/static_files.h"
#include "server/url.h"

namespace p4dp::server {
namespace {

Request Make(std::string method, std::string path, std::string query = "") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

Handler Named(std::string name) {
  return [name](const Request& r) {
    std::string text = name;
    for (const auto& [key, value] : r.params) text += " " + key + "=" + value;
    return Response::Text(200, text);
  };
}

TEST(RouterTest, MatchesLiteralsAndCaptures) {
  Router router;
  router.Add("GET", "/api/cohorts/{id}", Named("get-cohort"));
  router.Add("GET", "/api/cohorts/new", Named("new-form"));
  router.Add("POST", "/api/cohorts", Named("create"));
  router.Add("GET", "/api/surveillance/{indicator}/{departement}", Named("series"));

  Request r = Make("GET", "/api/cohorts/42");
  EXPECT_EQ(router.Dispatch(r)->body, "get-cohort id=42");
  EXPECT_EQ(r.Param("id"), "42");
  r = Make("GET", "/api/cohorts/new");
  EXPECT_EQ(router.Dispatch(r)->body, "new-form");
  r = Make("POST", "/api/cohorts");
  EXPECT_EQ(router.Dispatch(r)->body, "create");
  r = Make("GET", "/api/surveillance/ili/2A");
  EXPECT_EQ(router.Dispatch(r)->body, "series departement=2A indicator=ili");
  r = Make("GET", "/api/surveillance/a%2Fb/75");
  EXPECT_EQ(router.Dispatch(r)->body, "series departement=75 indicator=a/b");
}

TEST(RouterTest, UnknownPathIsNulloptAndWrongMethodIs405) {
  Router router;
  router.Add("GET", "/api/x/{id}", Named("get"));
  router.Add("DELETE", "/api/x/{key}", Named("delete"));
  Request r = Make("GET", "/api/y");
  EXPECT_FALSE(router.Dispatch(r).has_value());
  r = Make("GET", "/api/x/");  // a capture is never empty
  EXPECT_FALSE(router.Dispatch(r).has_value());
  r = Make("PUT", "/api/x/1");
  std::optional<Response> response = router.Dispatch(r);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  ASSERT_EQ(response->headers.size(), 1u);
  EXPECT_EQ(response->headers[0].first, "Allow");
  EXPECT_EQ(response->headers[0].second, "DELETE, GET, HEAD");
  r = Make("DELETE", "/api/x/1");
  EXPECT_EQ(router.Dispatch(r)->body, "delete key=1");
  r = Make("HEAD", "/api/x/1");
  EXPECT_EQ(router.Dispatch(r)->body, "get id=1");
}

TEST(RouterTest, BadlyEncodedPathIs400) {
  Router router;
  router.Add("GET", "/api/x/{id}", Named("get"));
  Request r = Make("GET", "/api/x/%4");
  EXPECT_EQ(router.Dispatch(r)->status, 400);
  r = Make("GET", "no-slash");
  EXPECT_EQ(router.Dispatch(r)->status, 400);
}

TEST(RouterDeathTest, MalformedOrDuplicatePatternsAssert) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Router().Add("GET", "no-slash", Named("x")), "");
  EXPECT_DEATH(Router().Add("GET", "/a/{x}/{x}", Named("x")), "");
  EXPECT_DEATH(Router().Add("GET", "/a/{}", Named("x")), "");
  EXPECT_DEATH(Router().Add("GET", "/a/b{x}", Named("x")), "");
  EXPECT_DEATH(
      {
        Router router;
        router.Add("GET", "/a/{x}", Named("x"));
        router.Add("GET", "/a/{y}", Named("y"));
      },
      "");
}

TEST(RequestTest, QueryParamsAreDecoded) {
  Request r = Make("GET", "/", "from=2024-01-01&code=J11%2B&name=a+b&flag&bad=%zz");
  EXPECT_EQ(r.QueryParam("from"), "2024-01-01");
  EXPECT_EQ(r.QueryParam("code"), "J11+");
  EXPECT_EQ(r.QueryParam("name"), "a b");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_EQ(r.QueryParam("bad"), std::nullopt);
  EXPECT_EQ(r.QueryParam("missing"), std::nullopt);
  r.headers["x-a"] = "1";
  EXPECT_EQ(r.Header("x-a"), "1");
  EXPECT_EQ(r.Header("x-b"), "");
}

TEST(ResponseTest, ErrorIsEscapedJson) {
  Response r = Response::Error(400, "bad \"field\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":"bad \"field\"\n"})");
  EXPECT_EQ(Response::Error(400, "\xff").body, "{\"error\":\"\xef\xbf\xbd\"}");
}

TEST(UrlTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2F", false), "a b/");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%e9t%C3%A9", false), "\xe9t\xc3\xa9");
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%00", false), std::nullopt);
}

TEST(UrlTest, SplitTargetAndSegments) {
  Target t = SplitTarget("/a/b?x=1&y=2#frag");
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_EQ(t.query, "x=1&y=2");
  EXPECT_EQ(SplitTarget("/a").query, "");
  EXPECT_EQ(SplitTarget("http://host:80/a/b?x").path, "/a/b");
  EXPECT_EQ(SplitTarget("HTTPS://host/a/b?x").query, "x");
  EXPECT_EQ(SplitTarget("http://host").path, "/");
  EXPECT_EQ(SplitTarget("http://host?x").path, "/");
  EXPECT_EQ(SplitTarget("http://host?x").query, "x");
  EXPECT_EQ(SplitTarget("*").path, "*");
  EXPECT_EQ(PathSegments("/"), std::vector<std::string_view>({""}));
  EXPECT_EQ(PathSegments("/a/b"), std::vector<std::string_view>({"a", "b"}));
  EXPECT_EQ(PathSegments("/a/"), std::vector<std::string_view>({"a", ""}));
}

TEST(StaticFilesTest, ContentTypes) {
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.b.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("x.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeFor("x.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("Makefile"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("x.exe"), "application/octet-stream");
}

}  // namespace
}  // namespace p4dp::server
