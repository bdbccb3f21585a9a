"""The Kubernetes manifests in deploy/k8s: they parse, hang together, and set only
environment variables that env.example documents.

Checked: every document is a well-formed object of the lookout namespace; kustomization.yaml
lists every manifest (the operator-only podmonitor.yaml excepted); the core pod runs store,
correlate, ingest, escalate, publish and rules as sidecars that share one emptyDir and talk
over ipc:// endpoints inside it; the notify workers are a Deployment of their own reaching
escalate over tcp:// through a Service, with CURVE on both ends (certificate files mounted
from the Secret where the variables say); every container runs a program the build installs
and has readiness and liveness probes on /healthz at a port it declares, matching the metrics
ports of the ConfigMap; Services select existing pods and name existing ports, 18013
included; ConfigMap, Secret and volume references resolve; and every variable set through
env, or through a ConfigMap or Secret used with envFrom, is in env.example.

Needs PyYAML (Debian python3-yaml, installed by scripts/deps.sh): when the interpreter running
the test lacks it (a pyenv python3 does not see Debian's dist-packages), the test runs itself
again under /usr/bin/python3.
"""

import os
import re
import sys

try:
    import yaml
except ImportError:  # re-run under the system interpreter, which has python3-yaml
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
            os.access("/usr/bin/python3", os.X_OK) and not os.environ.get("LOOKOUT_K8S_REEXEC"):
        os.environ["LOOKOUT_K8S_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    yaml = None

import unittest

import lookout

K8S_DIR = os.path.join(lookout.SOURCE_DIR, "deploy", "k8s")
NAMESPACED = {"ConfigMap", "Secret", "Deployment", "Service", "PodMonitor"}
# the programs the build installs (install(TARGETS ...) in the CMake files)
PROGRAMS = {"lookout-store", "lookout-correlate", "lookout-ingest", "lookout-rules",
            "lookout-escalate", "lookout-notify", "lookout-publish"}
CORE_CONTAINERS = {"store", "correlate", "ingest", "escalate", "publish", "rules"}
METRICS_PORT_VARIABLES = {"store": "LOOKOUT_STORE_METRICS_PORT",
                          "correlate": "LOOKOUT_CORRELATE_METRICS_PORT",
                          "ingest": "LOOKOUT_INGEST_METRICS_PORT",
                          "escalate": "LOOKOUT_ESCALATE_METRICS_PORT",
                          "publish": "LOOKOUT_PUBLISH_METRICS_PORT",
                          "rules": "LOOKOUT_RULES_METRICS_PORT",
                          "notify": "LOOKOUT_NOTIFY_METRICS_PORT"}


def env_example_names():
    names = set()
    with open(os.path.join(lookout.SOURCE_DIR, "env.example"), encoding="utf-8") as f:
        for line in f:
            match = re.match(r"^([A-Z_][A-Z0-9_]*)=", line)
            if match:
                names.add(match.group(1))
    return names


class K8sManifestsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if yaml is None:
            raise AssertionError("PyYAML is missing: install Debian python3-yaml "
                                 "(scripts/deps.sh) or run with /usr/bin/python3")
        cls.files = {}
        for name in sorted(os.listdir(K8S_DIR)):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(K8S_DIR, name), encoding="utf-8") as f:
                    cls.files[name] = [doc for doc in yaml.safe_load_all(f) if doc is not None]
        cls.objects = [(name, doc) for name, docs in cls.files.items() for doc in docs
                       if doc.get("kind") != "Kustomization"]

    def of_kind(self, kind):
        return {doc["metadata"]["name"]: doc for _, doc in self.objects if doc["kind"] == kind}

    def pod_specs(self):
        return {name: d["spec"]["template"]["spec"] for name, d in self.of_kind("Deployment").items()}

    # ------------------------------------------------------------------------------------------

    def test_documents_are_well_formed(self):
        self.assertGreaterEqual(len(self.objects), 8)
        for name, doc in self.objects:
            with self.subTest(file=name, kind=doc.get("kind")):
                self.assertIsInstance(doc, dict)
                for key in ("apiVersion", "kind", "metadata"):
                    self.assertIn(key, doc)
                self.assertRegex(doc["metadata"]["name"], r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
                if doc["kind"] in NAMESPACED:
                    self.assertEqual(doc["metadata"].get("namespace"), "lookout")
        kinds = sorted(doc["kind"] for _, doc in self.objects)
        for kind in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service"):
            self.assertIn(kind, kinds)

    def test_kustomization_lists_every_manifest(self):
        kustomization = self.files["kustomization.yaml"][0]
        resources = kustomization["resources"]
        for resource in resources:
            self.assertIn(resource, self.files, "kustomization names a missing file")
        expected = set(self.files) - {"kustomization.yaml", "podmonitor.yaml"}
        self.assertEqual(set(resources), expected)

    def test_deployments(self):
        configmaps, secrets = self.of_kind("ConfigMap"), self.of_kind("Secret")
        for name, deployment in self.of_kind("Deployment").items():
            spec = deployment["spec"]
            pod = spec["template"]["spec"]
            labels = spec["template"]["metadata"]["labels"]
            for key, value in spec["selector"]["matchLabels"].items():
                self.assertEqual(labels.get(key), value, name)
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            port_names = []
            for container in pod["containers"]:
                where = "%s/%s" % (name, container["name"])
                with self.subTest(container=where):
                    self.assertTrue(container["image"])
                    program = os.path.basename(container["command"][0])
                    self.assertIn(program, PROGRAMS)
                    self.assertEqual(container["command"][0], "/usr/local/bin/" + program)
                    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
                    port_names += list(ports)
                    for probe in ("readinessProbe", "livenessProbe"):
                        self.assertIn(probe, container)
                        check = container[probe]["httpGet"]
                        self.assertEqual(check["path"], "/healthz")
                        self.assertTrue(check["port"] in ports or check["port"] in
                                        ports.values(), "%s port %r" % (probe, check["port"]))
                    for mount in container.get("volumeMounts", []):
                        self.assertIn(mount["name"], volumes)
                    for source in container.get("envFrom", []):
                        if "configMapRef" in source:
                            self.assertIn(source["configMapRef"]["name"], configmaps)
                        if "secretRef" in source:
                            self.assertIn(source["secretRef"]["name"], secrets)
                    security = container.get("securityContext", {})
                    self.assertFalse(security.get("allowPrivilegeEscalation", True))
            self.assertEqual(len(port_names), len(set(port_names)), "%s: port names" % name)
            for volume in volumes.values():
                if "configMap" in volume:
                    self.assertIn(volume["configMap"]["name"], configmaps)
                if "secret" in volume:
                    secret = secrets[volume["secret"]["secretName"]]
                    for item in volume["secret"].get("items", []):
                        self.assertIn(item["key"], secret.get("stringData", {}))
            self.assertTrue(pod["securityContext"]["runAsNonRoot"])

    def test_core_pod_is_sidecars_over_ipc(self):
        core = self.pod_specs()["lookout-core"]
        self.assertEqual(self.of_kind("Deployment")["lookout-core"]["spec"]["replicas"], 1)
        self.assertEqual(self.of_kind("Deployment")["lookout-core"]["spec"]["strategy"]["type"],
                         "Recreate")
        containers = {c["name"]: c for c in core["containers"]}
        self.assertEqual(set(containers), CORE_CONTAINERS)
        shared = [v["name"] for v in core["volumes"] if "emptyDir" in v]
        self.assertEqual(len(shared), 1)
        mount_paths = set()
        for container in containers.values():
            mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == shared[0]]
            self.assertEqual(len(mounts), 1, container["name"])
            mount_paths.add(mounts[0])
        self.assertEqual(len(mount_paths), 1)
        mount = mount_paths.pop()
        env = self.of_kind("ConfigMap")["lookout-env"]["data"]
        for variable in ("LOOKOUT_STORE_ENDPOINT", "LOOKOUT_STORE_QUERY_ENDPOINT",
                         "LOOKOUT_STORE_EVENTS_ENDPOINT", "LOOKOUT_CORRELATE_ENDPOINT"):
            self.assertTrue(env[variable].startswith("ipc://" + mount + "/"),
                            "%s=%s is not in the shared volume %s" % (variable, env[variable],
                                                                      mount))
        self.assertEqual(len({env[v] for v in env if v.endswith("_ENDPOINT")}),
                         len([v for v in env if v.endswith("_ENDPOINT")]))
        # each process's probe and metrics port is its own and matches the ConfigMap
        for name, container in containers.items():
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            self.assertEqual(ports["m-" + name], int(env[METRICS_PORT_VARIABLES[name]]), name)
            self.assertEqual(env[METRICS_PORT_VARIABLES[name].replace("_PORT", "_ADDRESS")],
                             "0.0.0.0", "%s: the kubelet probes the pod address" % name)
        self.assertEqual({p["containerPort"] for p in containers["ingest"]["ports"]
                          if p["name"] == "http"}, {int(env["LOOKOUT_HTTP_PORT"])})

    def test_notify_workers_scale_apart_over_tcp_with_curve(self):
        deployments = self.of_kind("Deployment")
        notify = deployments["lookout-notify"]
        self.assertGreaterEqual(notify["spec"]["replicas"], 1)
        worker = notify["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(worker["command"][0], "/usr/local/bin/lookout-notify")
        core = {c["name"]: c for c in deployments["lookout-core"]["spec"]["template"]["spec"][
            "containers"]}
        escalate = core["escalate"]
        worker_env = {e["name"]: e["value"] for e in worker["env"]}
        escalate_env = {e["name"]: e["value"] for e in escalate["env"]}
        services = self.of_kind("Service")
        escalate_ports = {p["name"]: p["containerPort"] for p in escalate["ports"]}
        for variable in ("LOOKOUT_NOTIFY_JOBS_ENDPOINT", "LOOKOUT_NOTIFY_RESULTS_ENDPOINT"):
            match = re.match(r"^tcp://([a-z0-9.-]+):(\d+)$", worker_env[variable])
            self.assertIsNotNone(match, worker_env[variable])
            service = services[match.group(1).split(".")[0]]
            port = [p for p in service["spec"]["ports"] if p["port"] == int(match.group(2))]
            self.assertEqual(len(port), 1, variable)
            self.assertEqual(escalate_ports[port[0]["targetPort"]], int(match.group(2)))
            bind = re.match(r"^tcp://0\.0\.0\.0:(\d+)$", escalate_env[variable])
            self.assertIsNotNone(bind, escalate_env[variable])
            self.assertEqual(int(bind.group(1)), int(match.group(2)))

        def mounted_files(pod, container):
            """Paths of every secret file the container sees."""
            volumes = {v["name"]: v for v in pod["volumes"]}
            files = set()
            for mount in container["volumeMounts"]:
                secret = volumes[mount["name"]].get("secret")
                if secret:
                    for item in secret["items"]:
                        files.add(os.path.join(mount["mountPath"], item["path"]))
            return files

        worker_files = mounted_files(notify["spec"]["template"]["spec"], worker)
        self.assertIn(worker_env["LOOKOUT_CURVE_SERVER_CERT"], worker_files)
        self.assertNotIn(worker_env["LOOKOUT_CURVE_SERVER_CERT"] + "_secret", worker_files,
                         "a worker needs only the server's public key")
        self.assertIn(worker_env["LOOKOUT_CURVE_CLIENT_CERT"], worker_files)
        self.assertIn(worker_env["LOOKOUT_CURVE_CLIENT_CERT"] + "_secret", worker_files)
        self.assertEqual(worker_env["LOOKOUT_CURVE_REQUIRED"], "true")
        escalate_files = mounted_files(deployments["lookout-core"]["spec"]["template"]["spec"],
                                       escalate)
        self.assertIn(escalate_env["LOOKOUT_CURVE_SERVER_CERT"], escalate_files)
        self.assertIn(escalate_env["LOOKOUT_CURVE_SERVER_CERT"] + "_secret", escalate_files)
        authorized = escalate_env["LOOKOUT_CURVE_AUTHORIZED_DIR"]
        self.assertTrue(any(path.startswith(authorized + "/") for path in escalate_files))
        self.assertIn(os.path.join(authorized, os.path.basename(
            worker_env["LOOKOUT_CURVE_CLIENT_CERT"])), escalate_files)
        self.assertEqual(escalate_env["LOOKOUT_CURVE_REQUIRED"], "true")

    def test_services(self):
        pods = {name: d["spec"]["template"] for name, d in self.of_kind("Deployment").items()}
        api = []
        for name, service in self.of_kind("Service").items():
            selector = service["spec"]["selector"]
            matching = [t for t in pods.values()
                        if all(t["metadata"]["labels"].get(k) == v for k, v in selector.items())]
            self.assertEqual(len(matching), 1, "%s selects %d pods" % (name, len(matching)))
            port_names = {p["name"] for c in matching[0]["spec"]["containers"]
                          for p in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                self.assertIn(port["targetPort"], port_names, name)
                if port["port"] == 18013:
                    api.append(name)
        self.assertEqual(api, ["lookout"])

    def test_podmonitor_names_metrics_ports(self):
        monitor = self.files["podmonitor.yaml"][0]
        ports = {p["name"] for spec in self.pod_specs().values() for c in spec["containers"]
                 for p in c["ports"] if p["name"].startswith("m-")}
        self.assertEqual({e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}, ports)

    def test_every_variable_is_in_env_example(self):
        documented = env_example_names()
        configmaps, secrets = self.of_kind("ConfigMap"), self.of_kind("Secret")
        used = {}
        for deployment, spec in self.pod_specs().items():
            for container in spec["containers"]:
                where = "%s/%s" % (deployment, container["name"])
                for entry in container.get("env", []):
                    used.setdefault(entry["name"], where + " env")
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        name = source["configMapRef"]["name"]
                        for key in configmaps[name]["data"]:
                            used.setdefault(key, "ConfigMap " + name)
                    if "secretRef" in source:
                        name = source["secretRef"]["name"]
                        for key in secrets[name]["stringData"]:
                            used.setdefault(key, "Secret " + name)
        self.assertGreater(len(used), 20)
        missing = {name: where for name, where in used.items() if name not in documented}
        self.assertEqual(missing, {}, "set by the manifests but not documented in env.example")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
