import importlib

import pytest

from hotfolder import cli


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_builds_its_parser(name):
    # the dispatcher imports only the chosen module, so check each one really loads
    parser = cli.build_parser(name)
    module = importlib.import_module(f"hotfolder.commands.{cli.COMMANDS[name][0]}")
    assert hasattr(module, "run") or hasattr(module, "run_for")
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([name, "--help"])
    assert exc.value.code == 0


def test_selected_command_is_the_first_command_word():
    assert cli._selected_command(["-v", "run", "-c", "x.yaml"]) == "run"
    assert cli._selected_command(["inspect", "status"]) == "inspect"
    assert cli._selected_command(["--version"]) is None


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
