"""Every string is translatable, both catalogs are complete, and the browser's language is honoured."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.urls import reverse

from tests.helpers import create_route

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ["zh_Hans", "en"]


@pytest.mark.parametrize("language", CATALOGS)
def test_catalog_is_complete(language):
    po = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    assert po.untranslated_entries() == [] and po.fuzzy_entries() == []
    assert (ROOT / "locale" / language / "LC_MESSAGES" / "django.mo").exists(), "run make setup (compilemessages)"


def test_catalogs_hold_every_string_of_the_code(tmp_path):
    """makemessages on a copy of the project finds no string that the catalog lacks."""
    for part in ["manage.py", "kubegems_routes", "templates", "locale"]:
        source = ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / part)
    env = {"DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "kubegems_routes.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v0"],
        cwd=tmp_path,
        env=env,
        check=True,
    )
    fresh = {e.msgid for e in polib.pofile(str(tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    ours = {e.msgid for e in polib.pofile(str(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    assert fresh - ours == set(), "new strings: run makemessages and translate them"


def test_browser_language_is_honoured_on_first_visit(operator_client, environment):
    url = reverse("routes:list", args=[environment.pk])
    chinese = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "创建路由" in chinese and 'lang="zh-hans"' in chinese
    english = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Create route" in english


def test_language_switcher_sets_the_language(operator_client, environment):
    url = reverse("routes:list", args=[environment.pk])
    response = operator_client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert "运行时" in operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_label_ends_in_a_full_width_colon_in_chinese(operator_client, environment):
    create_route(operator_client, environment)
    url = reverse("routes:detail", args=[environment.pk, "shop"])
    chinese = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "集群状态：</span>" in chinese and "集群状态:" not in chinese
    english = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cluster state: </span>" in english
