"""The fleet example's `compose.yaml`, checked against what it runs. No Docker engine runs on the
test machines, so nothing is built or pulled; instead:

- every file the services mount exists, the gateway nodes are built from the repository's
  Dockerfile and mount their settings and policy where that image's `serve` reads them;
- the policy as a node container sees it (policy.json beside container/upstream.json) passes
  `portcullis check`, and its upstream is the `app` service on the port the app is told to use;
- HAProxy's configuration names exactly the node services, on the ports their settings listen
  on, with the health check on their admin listener, and `haproxy -c` accepts it;
- then the services run as processes on loopback: the app with compose's command, three gateways
  with the node settings and the container's policy layout, HAProxy with the mounted
  configuration, each service name and port mapped to a loopback port (the one rewrite a
  container network makes unnecessary). A key's request through the balancer reaches all three.
"""

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT, free_port

FLEET = ROOT / "examples" / "fleet"
KEY = "pcs_99d972de9436fbccb61bbad633c3344403dc8fe3ebe870639422638755c43d4e"
NODES = ("node-1", "node-2", "node-3")


def compose():
    return yaml.safe_load((FLEET / "compose.yaml").read_text())


def mounts(service):
    """(source under examples/fleet, target in the container) for each bind mount."""
    out = []
    for v in service.get("volumes", []):
        src, target = v.split(":")[:2]
        out.append((FLEET / src, target))
    return out


def haproxy_bin():
    for c in ("/usr/sbin/haproxy", shutil.which("haproxy")):
        if c and Path(c).exists():
            return c
    pytest.fail("haproxy not found (Debian package haproxy)")


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def test_the_services_and_their_files():
    c = compose()
    services = c["services"]
    assert set(services) == {"app", "lb", *NODES}, services
    for name, service in services.items():
        for src, target in mounts(service):
            assert src.exists(), "%s mounts missing %s" % (name, src)
    # Each node: built from the repository's Dockerfile, settings where the image's `serve` reads
    # them (the Dockerfile test in tests/it/packaging.rs ties that path to the binary).
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '/etc/portcullis/portcullis.json' in dockerfile
    for name in NODES:
        node = services[name]
        context = (FLEET / node["build"]["context"]).resolve()
        assert context == ROOT.resolve() and (context / node["build"]["dockerfile"]).exists(), node["build"]
        targets = {t: s for s, t in mounts(node)}
        assert targets["/etc/portcullis/portcullis.json"] == FLEET / "container" / "node.json"
        assert targets["/etc/portcullis/policy/policy.json"] == FLEET / "policy" / "policy.json"
        assert targets["/etc/portcullis/policy/upstream.json"] == FLEET / "container" / "upstream.json"
        assert node["depends_on"] == ["app"]
        assert "ports" not in node, "only the balancer is published"
    assert services["lb"]["ports"] == ["8080:8080"]
    assert sorted(services["lb"]["depends_on"]) == list(NODES)


def container_policy(tmp):
    """The policy directory as a node container holds it."""
    d = tmp / "policy"
    d.mkdir()
    shutil.copy(FLEET / "policy" / "policy.json", d / "policy.json")
    shutil.copy(FLEET / "container" / "upstream.json", d / "upstream.json")
    return d


def test_the_container_policy_is_valid_and_points_at_the_app(tmp_path):
    d = container_policy(tmp_path)
    run = subprocess.run([str(BIN), "check", "--policy", str(d)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    url = json.loads((d / "upstream.json").read_text())["upstreams"]["reports"]["url"]
    host, port = re.fullmatch(r"http://([^:/]+):(\d+)", url).groups()
    assert host in compose()["services"], url
    cmd = compose()["services"][host]["command"]
    assert cmd[-2:] == [port, "0.0.0.0"], cmd


def haproxy_servers(cfg):
    return re.findall(r"^\s*server (\S+) (\S+):(\d+) check port (\d+)$", cfg, re.M)


def test_haproxy_balances_over_exactly_the_nodes(tmp_path):
    cfg = (FLEET / "container" / "haproxy.cfg").read_text()
    settings = json.loads((FLEET / "container" / "node.json").read_text())
    listen = port_of(settings["listeners"][0]["address"])
    admin = settings["admin"]["address"]
    assert admin.startswith("0.0.0.0:"), "HAProxy asks /readyz from another container"
    servers = haproxy_servers(cfg)
    assert [(s[0], s[1]) for s in servers] == [(n, n) for n in NODES], servers
    for _, _, port, check in servers:
        assert int(port) == listen and int(check) == port_of(admin)
    assert "option httpchk GET /readyz" in cfg
    published = int(compose()["services"]["lb"]["ports"][0].split(":")[1])
    assert re.search(r"^\s*bind :%d$" % published, cfg, re.M), cfg
    checked = tmp_path / "haproxy.cfg"
    checked.write_text(re.sub(r"(node-\d|app):", "127.0.0.1:", cfg))
    run = subprocess.run([haproxy_bin(), "-c", "-q", "-f", str(checked)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def wait_http(url, deadline=30):
    end = time.time() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.time() > end:
            pytest.fail("nothing answered %s" % url)
        time.sleep(0.05)


def test_the_services_run_as_processes_on_loopback(tmp_path):
    services = compose()["services"]
    procs = []
    try:
        # app, with compose's command (its file and port mapped).
        app_port = free_port()
        cmd = services["app"]["command"]
        assert cmd[:2] == ["python", "/srv/app.py"]
        app_args = [str(app_port) if a == cmd[2] else ("127.0.0.1" if a == "0.0.0.0" else a) for a in cmd[2:]]
        procs.append(subprocess.Popen([sys.executable, str(FLEET / "app.py"), *app_args]))
        wait_http("http://127.0.0.1:%d/api/reports/ready" % app_port)

        policy = container_policy(tmp_path)
        up = policy / "upstream.json"
        up.write_text(up.read_text().replace("http://app:8003", "http://127.0.0.1:%d" % app_port))
        node_settings = json.loads((FLEET / "container" / "node.json").read_text())
        ports = {}
        for name in NODES:
            public, admin = free_port(), free_port()
            ports[name] = (public, admin)
            s = dict(node_settings)
            s["listeners"] = [{"address": "127.0.0.1:%d" % public}]
            s["admin"] = {"address": "127.0.0.1:%d" % admin}
            s["policy"] = str(policy)
            path = tmp_path / ("%s.json" % name)
            path.write_text(json.dumps(s))
            procs.append(subprocess.Popen([str(BIN), "serve", "--config", str(path)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for name in NODES:
            wait_http("http://127.0.0.1:%d/readyz" % ports[name][1])

        front = free_port()
        cfg = (FLEET / "container" / "haproxy.cfg").read_text()
        cfg = cfg.replace("bind :8080", "bind 127.0.0.1:%d" % front)
        for name in NODES:
            cfg = cfg.replace("%s:8080 check port 9901" % name,
                              "127.0.0.1:%d check port %d" % ports[name])
        assert not re.search(r"node-\d:", cfg) and cfg.count("127.0.0.1:") == 4, cfg
        (tmp_path / "haproxy.cfg").write_text(cfg)
        procs.append(subprocess.Popen([haproxy_bin(), "-db", "-f", str(tmp_path / "haproxy.cfg")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        served, end = set(), time.time() + 20
        while served != set(NODES):
            assert time.time() < end, "the balancer used only %s" % sorted(served)
            req = urllib.request.Request("http://127.0.0.1:%d/api/reports/q3" % front, headers={"X-API-Key": KEY})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    body = json.loads(r.read())
                    assert body["path"] == "/api/reports/q3" and body["for"] == "reporting-job", body
                    served.add(r.headers["X-Served-By"])
            except OSError:
                time.sleep(0.1)
        # And without the key, every node refuses (the balancer passes the 401 through).
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d/api/reports/q3" % front, timeout=5)
        assert e.value.code == 401
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
