"""The platform code, tested for the platform this machine is not by simulating it: the
ledger's lock through Windows' msvcrt.locking (a stand-in that behaves as it does: a byte
locked by one open file cannot be locked through another until that one is closed), the
cache's trust of its files where there is no user id, and the user's config folder."""

from __future__ import annotations

import os
import sys
import types

import pytest

from pbr_cli import cache as cache_module
from pbr_cli.cycle import config as config_module
from pbr_cli.errors import PbrError
from pbr_cli.ledger import lock


class FakeMsvcrt(types.ModuleType):
    LK_NBLCK = 2

    def __init__(self):
        super().__init__("msvcrt")
        self.held: dict[tuple[int, int], int] = {}  # (file, byte) -> the fd holding it

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert mode == self.LK_NBLCK and nbytes == 1
        key = (os.fstat(fd).st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        holder = self.held.get(key)
        if holder is not None and holder != fd:
            try:
                still = os.fstat(holder).st_ino == key[0]
            except OSError:
                still = False
            if still:
                raise OSError(36, "Resource deadlock avoided")
        self.held[key] = fd


@pytest.fixture
def windows(monkeypatch):
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(lock, "WINDOWS", True)
    return fake


def test_the_ledger_lock_on_windows_refuses_a_second_run_and_names_the_first(windows,
                                                                             tmp_path):
    path = tmp_path / "ledger.lock"
    with lock.exclusive(path):
        assert windows.held and all(byte == lock.LOCKED_BYTE for _, byte in windows.held)
        with pytest.raises(PbrError) as refused:
            with lock.exclusive(path, wait=0.2):
                pass
        assert f"process {os.getpid()}" in refused.value.message
        assert refused.value.code == "locked" and refused.value.exit_code == 3
    with lock.exclusive(path):  # released when the first run's file closed
        pass


def test_the_cache_trusts_files_by_place_where_there_is_no_user_id(monkeypatch, tmp_path):
    monkeypatch.delattr(os, "getuid", raising=False)
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    inside, outside = home / "cache" / "entry", tmp_path / "shared" / "entry"
    outside.parent.mkdir()
    inside.write_bytes(b"x")
    outside.write_bytes(b"x")
    monkeypatch.setattr(cache_module.Path, "home", classmethod(lambda cls: home))
    store = cache_module.ReturnCache.__new__(cache_module.ReturnCache)
    assert store._private(inside) is True
    assert store._private(outside) is False


def test_the_user_config_folder_on_each_platform(monkeypatch, tmp_path):
    monkeypatch.setattr(config_module, "WINDOWS", True)
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    assert config_module.user_config() is None
    mine = tmp_path / "AppData" / "Roaming" / "pbr" / "pbr.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("models: models\n")
    assert config_module.user_config() == mine
    monkeypatch.setattr(config_module, "WINDOWS", False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_module.user_config() is None
    theirs = tmp_path / "xdg" / "pbr" / "pbr.yaml"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("models: models\n")
    assert config_module.user_config() == theirs
