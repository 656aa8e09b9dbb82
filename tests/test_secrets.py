from repro import secrets


def test_secret_names_are_masked_and_ordinary_ones_kept():
    env = secrets.mask_env({"GITHUB_TOKEN": "x", "AWS_SECRET_ACCESS_KEY": "y", "DB_PASSWORD": "z",
                            "OPENAI_API_KEY": "k", "PATH": "/bin", "PWD": "/w", "HOME": "/h"})
    assert env["GITHUB_TOKEN"] == env["AWS_SECRET_ACCESS_KEY"] == env["DB_PASSWORD"] == env["OPENAI_API_KEY"] == "***"
    assert env["PATH"] == "/bin" and env["PWD"] == "/w" and env["HOME"] == "/h"


def test_credential_shaped_values_are_masked_under_any_name():
    planted = "AKIAIOSFODNN7EXAMPLE"
    env = secrets.mask_env({"SOMETHING": f"id={planted}", "URL": "https://bob:hunter2@example.com/x"})
    assert planted not in env["SOMETHING"]
    assert "hunter2" not in env["URL"] and "bob" not in env["URL"]


def test_argv_secret_options_are_masked():
    argv = secrets.mask_argv(["python", "t.py", "--api-key", "abc", "--password=xx", "--lr", "0.1",
                              "ghp_" + "a" * 36])
    assert argv == ["python", "t.py", "--api-key", "***", "--password=***", "--lr", "0.1", "***"]


def test_git_remote_credentials_stripped():
    assert secrets.strip_url_credentials("https://user:tok@github.com/a/b.git") == "https://github.com/a/b.git"
    assert secrets.strip_url_credentials("git@github.com:a/b.git") == "git@github.com:a/b.git"
