// mailroomctl registers only the command group a command line names (src/ctl/commands.cpp):
// every top-level command must come out the same as in the full tree, or a command would
// lose options (or vanish) when called on its own.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "src/ctl/ctl.h"

namespace mailroom::ctl {
namespace {

// The help text of a command and of every command below it, which names each option and
// subcommand with its description.
std::string tree(CLI::App* app) {
  std::string out = app->get_name() + "\n" + app->help();
  for (CLI::App* sub : app->get_subcommands({})) out += tree(sub);
  return out;
}

TEST(CtlCommandsTest, EachCommandAloneIsTheSameAsInTheFullTree) {
  Context all_ctx;
  int all_exit = 0;
  CLI::App all{"mailroomctl"};
  register_all_commands(all, all_ctx, &all_exit);
  auto commands = all.get_subcommands({});
  ASSERT_GT(commands.size(), 20u);
  for (CLI::App* command : commands) {
    SCOPED_TRACE(command->get_name());
    Context ctx;
    int exit = 0;
    CLI::App alone{"mailroomctl"};
    EXPECT_TRUE(register_commands_for(alone, ctx, &exit, command->get_name()));
    EXPECT_EQ(tree(alone.get_subcommand(command->get_name())), tree(command));
  }
}

TEST(CtlCommandsTest, AnUnknownOrMissingCommandGetsEveryGroup) {
  Context ctx;
  int exit = 0;
  CLI::App all{"mailroomctl"};
  register_all_commands(all, ctx, &exit);
  for (std::string command : {"", "no-such-command"}) {
    CLI::App app{"mailroomctl"};
    EXPECT_FALSE(register_commands_for(app, ctx, &exit, command));
    EXPECT_EQ(app.get_subcommands({}).size(), all.get_subcommands({}).size()) << command;
  }
}

TEST(CtlCommandsTest, TheCommandIsTheFirstWordThatIsNotAnOption) {
  auto command = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return std::string(command_of(static_cast<int>(argv.size()), argv.data()));
  };
  EXPECT_EQ(command({"mailroomctl", "--config", "user", "--json", "queue", "list"}), "queue");
  EXPECT_EQ(command({"mailroomctl", "-c", "x.toml", "user", "show", "alice"}), "user");
  EXPECT_EQ(command({"mailroomctl", "--config=x.toml", "--json", "dkim", "list"}), "dkim");
  EXPECT_EQ(command({"mailroomctl", "--help"}), "");
  EXPECT_EQ(command({"mailroomctl", "--config"}), "");
  EXPECT_EQ(command({"mailroomctl"}), "");
}

}  // namespace
}  // namespace mailroom::ctl
