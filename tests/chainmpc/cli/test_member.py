"""``chainmpc member`` on a real node, with every role a key file and a CLI process: an org
rotates its encryption key and moves its endpoint and the next session (material sealed to the
new key, peers meeting at the new endpoint) finalises; the admin offboards an org, which then
cannot be in a session, while the audit of its past session still passes; the admin handover
waits out its delay."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chainmpc.keys import public_keys
from offchain.transport.mesh import free_ports
from onchain.clients import ConsortiumClient
from tests.helpers.consortium import Consortium, build_consortium, sum_product_answer

pytestmark = pytest.mark.ganache


@pytest.fixture(scope="module")
def c(ganache_url: str, tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    return build_consortium(tmp_path_factory.mktemp("members"), ganache_url)


def member(c: Consortium, *args: str) -> tuple[int, str]:
    done = c.cli("member", *args, "--deployment", str(c.deployment))
    return done.returncode, done.stdout + done.stderr


def test_rotation_then_offboarding_then_the_admin_handover(c: Consortium, tmp_path: Path) -> None:
    registry = ConsortiumClient(c.sessions.w3, c.consortium)
    old_key = c.registered_key("bank-b")
    code, out = member(c, "rotate-key", "--key", str(c.keys["bank-b"]))
    assert code == 0, out
    new_key = c.registered_key("bank-b")
    assert new_key != old_key and new_key.hex() in out
    assert public_keys(c.keys["bank-b"]) == (c.address("bank-b"), new_key)
    assert not list(c.keys["bank-b"].parent.glob("*.rotating"))

    endpoint = f"127.0.0.1:{free_ports(1)[0]}"
    code, out = member(c, "set-endpoint", "--key", str(c.keys["bank-c"]), "--endpoint", endpoint)
    assert code == 0, out
    assert registry.org_info(c.address("bank-c"))[2] == endpoint
    code, out = member(c, "set-endpoint", "--key", str(c.keys["bank-c"]), "--endpoint", "nowhere")
    assert code == 1 and "is not host:port" in out, out

    # The next session: the service seals bank-b's material to its new key (its old one
    # could not open it) and bank-c listens at its new endpoint, where the others dial it
    # (both read from the chain); every org gets the answer.
    run = c.run_session()
    assert run.codes == dict.fromkeys(c.orgs, 0), run.logs
    for org in c.orgs:
        assert run.results[org]["result"] == sum_product_answer(), org

    # An org can only be offboarded by the admin; then it is out for good.
    gone = c.address("bank-c")
    code, out = member(c, "offboard", "--key", str(c.keys["bank-a"]), "--account", gone)
    assert code == 1 and "NotAdmin" in out, out
    code, out = member(c, "offboard", "--key", str(c.keys["admin"]), "--account", gone)
    assert code == 0, out
    assert not registry.is_org(gone) and registry.is_retired(gone)
    assert "bank-c" not in registry.orgs()
    # A session needing it cannot be opened, and nothing is opened.
    before = c.sessions.session_count()
    done = c.cli("session", "open", "--deployment", str(c.deployment),
                 "--key", str(c.keys["admin"]), "--job", str(c.job))  # fmt: skip
    assert done.returncode != 0 and "bank-c" in done.stdout + done.stderr
    assert c.sessions.session_count() == before
    # Its past session still audits: membership is judged when the session was opened.
    done = c.cli("audit", "--rpc", c.rpc, "--consortium", c.consortium,
                 "--session", str(run.session), "--job", str(c.job), "--json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] is True
    assert any(ch["name"] == "participants registered at opening" and ch["ok"]
               for ch in report["checks"])  # fmt: skip

    # The admin handover: named now, accepted only after the deployment's one-day delay.
    heir = tmp_path / "heir.json"
    done = c.cli("keys", "new", "--out", str(heir), "--strength", "interactive")
    assert done.returncode == 0, done.stderr
    heir_address = re.search(r"address: (0x[0-9a-fA-F]{40})", done.stdout)[1]  # type: ignore[index]
    code, out = member(c, "accept-admin", "--key", str(heir))
    assert code == 1 and "no admin transfer is pending" in out, out
    code, out = member(c, "transfer-admin", "--key", str(c.keys["admin"]), "--to", heir_address)
    assert code == 0 and "may accept the admin role from" in out, out
    assert registry.pending_admin()[0] == heir_address
    code, out = member(c, "accept-admin", "--key", str(heir))
    assert code == 1 and "AccessControlEnforcedDefaultAdminDelay" in out, out
    assert registry.admin() == public_keys(c.keys["admin"])[0]
