// `custody whoami|user|org|repo|team|robot|grant …`: the admin API on the
// command line (docs/auth.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "http/message.h"

namespace custody::cli {
namespace {

using json = nlohmann::json;
using Action = std::function<Result<json>(AdminClient&)>;

std::string seg(const std::string& s) { return http::percent_encode(s); }

// Runs one admin call and prints its result (pretty JSON), or the error.
int run_admin(const std::string& command, const AdminConnection& c, const Action& action) {
  auto client = AdminClient::connect(c);
  if (!client) return std::fprintf(stderr, "custody %s: %s\n", command.c_str(), client.error().message.c_str()), 1;
  auto r = action(*client);
  if (!r) return std::fprintf(stderr, "custody %s: %s\n", command.c_str(), r.error().message.c_str()), 1;
  if (!r->is_null()) std::printf("%s\n", r->dump(2).c_str());
  else std::fprintf(stderr, "custody %s: done\n", command.c_str());
  return 0;
}

Result<json> body_of(Result<ApiReply> r) {
  if (!r) return std::unexpected(r.error());
  return r->body;
}

Result<std::string> password_from_stdin() {
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) return fail(ErrorCode::kInvalidArgument, "no password on stdin");
  return line;
}

void add_connection(CLI::App* cmd, AdminConnection& c) {
  cmd->fallthrough();
  cmd->add_option("--registry", c.registry, "Server URL (CUSTODY_REGISTRY; default http://127.0.0.1:5000)");
  cmd->add_option("--user", c.user, "Account to act as (CUSTODY_USER); its secret is read from CUSTODY_SECRET");
  cmd->add_option("--cacert", c.cacert, "PEM CA bundle to trust for https");
  cmd->add_option("--cert", c.cert, "Client certificate (mutual TLS)");
  cmd->add_option("--key", c.key, "Client certificate's key");
}

// A command group (user, org, …) with the connection options.
CLI::App* add_group(CLI::App& app, const char* name, const char* what, AdminConnection& conn) {
  auto* group = app.add_subcommand(name, what);
  group->require_subcommand(1);
  add_connection(group, conn);
  return group;
}

// Parses "true"/"false" flags given as options, leaving unset ones out.
void put_flag(json& body, const char* key, const std::string& value) {
  if (!value.empty()) body[key] = value == "true";
}

struct Args {
  std::string a, b, c, role, repo, pub, prot;
  bool flag1 = false, flag2 = false;
  int64_t expires_at = 0;
};

void add_user_commands(CLI::App& app, AdminConnection& conn, Args& x, int& rc) {
  auto* user = add_group(app, "user", "Accounts of people", conn);
  auto* add = user->add_subcommand("add", "Create a user (and its namespace)");
  add->add_option("name", x.a)->required();
  add->add_flag("--admin", x.flag1, "Make a system administrator");
  add->add_flag("--password-stdin", x.flag2, "Read a password from stdin");
  add->callback([&] {
    rc = run_admin("user add", conn, [&](AdminClient& c) -> Result<json> {
      json body = {{"name", x.a}};
      if (x.flag1) body["system_admin"] = true;
      if (x.flag2) {
        auto p = password_from_stdin();
        if (!p) return std::unexpected(p.error());
        body["password"] = *p;
      }
      return body_of(c.call("POST", "/api/v1/users", body));
    });
  });
  user->add_subcommand("list", "List accounts")->callback([&] {
    rc = run_admin("user list", conn, [](AdminClient& c) { return body_of(c.call("GET", "/api/v1/users?n=1000")); });
  });
  for (const char* verb : {"disable", "enable"}) {
    auto* cmd = user->add_subcommand(verb, fmt::format("{} a user", verb));
    cmd->add_option("name", x.a)->required();
    bool disable = std::string_view(verb) == "disable";
    cmd->callback([&, disable] {
      rc = run_admin("user", conn, [&](AdminClient& c) {
        return body_of(c.call("PATCH", "/api/v1/users/" + seg(x.a), json{{"disabled", disable}}));
      });
    });
  }
  auto* passwd = user->add_subcommand("passwd", "Set a user's password (read from stdin)");
  passwd->add_option("name", x.a)->required();
  passwd->add_flag("--password-stdin", x.flag2, "Read the password from stdin (the only way)")->required();
  passwd->callback([&] {
    rc = run_admin("user passwd", conn, [&](AdminClient& c) -> Result<json> {
      auto p = password_from_stdin();
      if (!p) return std::unexpected(p.error());
      return body_of(c.call("PATCH", "/api/v1/users/" + seg(x.a), json{{"password", *p}}));
    });
  });
}

void add_org_commands(CLI::App& app, AdminConnection& conn, Args& x, int& rc) {
  auto* org = add_group(app, "org", "Organizations (namespaces)", conn);
  auto* add = org->add_subcommand("add", "Create an organization");
  add->add_option("name", x.a)->required();
  add->add_flag("--public", x.flag1, "Anyone may pull");
  add->add_flag("--protected", x.flag2, "Only robots and policies may write");
  add->callback([&] {
    rc = run_admin("org add", conn, [&](AdminClient& c) {
      return body_of(c.call("POST", "/api/v1/orgs", json{{"name", x.a}, {"public", x.flag1}, {"protected", x.flag2}}));
    });
  });
  org->add_subcommand("list", "List namespaces")->callback([&] {
    rc = run_admin("org list", conn, [](AdminClient& c) { return body_of(c.call("GET", "/api/v1/orgs?n=1000")); });
  });
  for (const char* what : {"org", "repo"}) {
    CLI::App* parent = std::string_view(what) == "org" ? org : add_group(app, "repo", "Repository settings", conn);
    auto* set = parent->add_subcommand("set", "Change visibility or protection");
    set->add_option("name", x.a)->required();
    set->add_option("--public", x.pub, "true or false")->check(CLI::IsMember({"true", "false"}));
    set->add_option("--protected", x.prot, "true or false")->check(CLI::IsMember({"true", "false"}));
    std::string base = parent == org ? "/api/v1/orgs/" : "/api/v1/repositories/";
    std::string command = std::string(what) + " set";
    set->callback([&, base, command] {
      rc = run_admin(command, conn, [&, base](AdminClient& c) {
        json body = json::object();
        put_flag(body, "public", x.pub);
        put_flag(body, "protected", x.prot);
        return body_of(c.call("PATCH", base + x.a, body));
      });
    });
    if (parent == org) continue;
    auto* show = parent->add_subcommand("show", "Show a repository's visibility and protection");
    show->add_option("name", x.a)->required();
    show->callback([&] {
      rc = run_admin("repo show", conn, [&](AdminClient& c) { return body_of(c.call("GET", "/api/v1/repositories/" + x.a)); });
    });
  }
}

void add_team_and_grant_commands(CLI::App& app, AdminConnection& conn, Args& x, int& rc) {
  auto* team = add_group(app, "team", "Teams inside an organization", conn);
  auto* add = team->add_subcommand("add", "Create a team");
  add->add_option("org", x.a)->required();
  add->add_option("team", x.b)->required();
  add->callback([&] {
    rc = run_admin("team add", conn, [&](AdminClient& c) {
      return body_of(c.call("POST", "/api/v1/orgs/" + seg(x.a) + "/teams", json{{"name", x.b}}));
    });
  });
  auto* member = team->add_subcommand("member", "Add or remove a member");
  member->require_subcommand(1);
  for (const char* verb : {"add", "remove"}) {
    auto* cmd = member->add_subcommand(verb, fmt::format("{} a member", verb));
    cmd->add_option("org", x.a)->required();
    cmd->add_option("team", x.b)->required();
    cmd->add_option("account", x.c)->required();
    std::string method = std::string_view(verb) == "add" ? "PUT" : "DELETE";
    cmd->callback([&, method] {
      rc = run_admin("team member", conn, [&, method](AdminClient& c) {
        return body_of(c.call(method, "/api/v1/orgs/" + seg(x.a) + "/teams/" + seg(x.b) + "/members/" + seg(x.c)));
      });
    });
  }
  auto* grant = add_group(app, "grant", "Roles on a namespace or a repository", conn);
  for (const char* verb : {"add", "remove"}) {
    auto* cmd = grant->add_subcommand(verb, fmt::format("{} a grant", verb));
    cmd->add_option("org", x.a)->required();
    cmd->add_option("subject", x.b, "An account, or a team with --team")->required();
    cmd->add_option("role", x.role, "read, write or admin")->required()->check(CLI::IsMember({"read", "write", "admin"}));
    cmd->add_flag("--team", x.flag1, "The subject is a team of the organization");
    cmd->add_option("--repo", x.repo, "Only this repository (a full name inside the organization)");
    std::string method = std::string_view(verb) == "add" ? "POST" : "DELETE";
    cmd->callback([&, method] {
      rc = run_admin("grant", conn, [&, method](AdminClient& c) {
        json body = {{"subject", x.b}, {"role", x.role}, {"team", x.flag1}};
        if (!x.repo.empty()) body["repository"] = x.repo;
        return body_of(c.call(method, "/api/v1/orgs/" + seg(x.a) + "/grants", body));
      });
    });
  }
  auto* list = grant->add_subcommand("list", "List an organization's grants");
  list->add_option("org", x.a)->required();
  list->callback([&] {
    rc = run_admin("grant list", conn, [&](AdminClient& c) { return body_of(c.call("GET", "/api/v1/orgs/" + seg(x.a) + "/grants")); });
  });
}

void add_robot_commands(CLI::App& app, AdminConnection& conn, Args& x, int& rc) {
  auto* robot = add_group(app, "robot", "Robot accounts for CI and policies", conn);
  auto* add = robot->add_subcommand("add", "Create a robot; prints its secret once");
  add->add_option("org", x.a)->required();
  add->add_option("name", x.b)->required();
  add->add_option("--role", x.role, "Role to grant (read, write, admin)")->check(CLI::IsMember({"read", "write", "admin"}));
  add->add_option("--repo", x.repo, "Grant the role on this repository only");
  add->add_option("--expires-at", x.expires_at, "Unix time (seconds) after which it stops working");
  add->callback([&] {
    rc = run_admin("robot add", conn, [&](AdminClient& c) {
      json body = {{"name", x.b}};
      if (x.expires_at > 0) body["expires_at"] = x.expires_at;
      if (!x.role.empty()) {
        json entry = {{"role", x.role}};
        if (!x.repo.empty()) entry["repository"] = x.repo;
        body["access"] = json::array({entry});
      }
      return body_of(c.call("POST", "/api/v1/orgs/" + seg(x.a) + "/robots", body));
    });
  });
  auto* list = robot->add_subcommand("list", "List an organization's robots");
  list->add_option("org", x.a)->required();
  list->callback([&] {
    rc = run_admin("robot list", conn, [&](AdminClient& c) { return body_of(c.call("GET", "/api/v1/orgs/" + seg(x.a) + "/robots")); });
  });
  auto* revoke = robot->add_subcommand("revoke", "Revoke a robot");
  revoke->add_option("org", x.a)->required();
  revoke->add_option("name", x.b)->required();
  revoke->callback([&] {
    rc = run_admin("robot revoke", conn, [&](AdminClient& c) {
      return body_of(c.call("DELETE", "/api/v1/orgs/" + seg(x.a) + "/robots/" + seg(x.b)));
    });
  });
}

}  // namespace

struct AdminCommandLine::State {
  AdminConnection conn = default_connection();
  Args args;
};

AdminCommandLine::AdminCommandLine() : state_(std::make_unique<State>()) {}
AdminCommandLine::~AdminCommandLine() = default;
AdminConnection& AdminCommandLine::connection() { return state_->conn; }

void add_admin_connection_options(CLI::App* cmd, AdminConnection& c) { add_connection(cmd, c); }

void add_admin_commands(CLI::App& app, AdminCommandLine& line, int& rc) {
  auto& s = *line.state_;
  auto* whoami = app.add_subcommand("whoami", "Who the admin commands act as");
  add_connection(whoami, s.conn);
  whoami->callback([&] {
    rc = run_admin("whoami", s.conn, [](AdminClient& c) { return body_of(c.call("GET", "/api/v1/whoami")); });
  });
  add_user_commands(app, s.conn, s.args, rc);
  add_org_commands(app, s.conn, s.args, rc);
  add_team_and_grant_commands(app, s.conn, s.args, rc);
  add_robot_commands(app, s.conn, s.args, rc);
}

int run_pki_revoke(const AdminConnection& conn, const std::string& serial, const std::string& reason) {
  return run_admin("pki revoke", conn, [&](AdminClient& c) {
    return body_of(c.call("POST", "/api/v1/pki/revocations", json{{"serial", serial}, {"reason", reason}}));
  });
}

}  // namespace custody::cli
