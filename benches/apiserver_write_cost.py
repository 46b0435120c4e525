#!/usr/bin/env python3
"""What one write of each kind the operator causes costs the API server, in CPU.

Runs against a local control plane whose kube-apiserver is a process on this
machine (its CPU time is read from /proc before and after each batch), e.g.

    ecs-bridge dev --local-control-plane --runtime simulated --namespace nothing &
    python3 benches/apiserver_write_cost.py /tmp/ecs-bridge-control-plane-XXXXXX

(the directory is the one of the kubeconfig `ecs-bridge dev` prints; the
controller watches another namespace, so it leaves these objects alone). It
creates N EcsServices (BENCH_N, 200) in the namespace `write-cost` the way the
fleet bench does (server-side apply), adds the finalizer the way the
controller does (JSON patch with a `test`), then writes their status: the
first status, then a Ready-sized status again and again, each the way the
controller does (a JSON patch that adds the whole status, without field
validation) and, for comparison, as a forced server-side apply (the
controller's way before) and as a JSON merge patch with the resourceVersion;
a status of one condition, and Events. The first status is measured on two
sets of N new objects, one per way, in alternating rounds (BENCH_ROUNDS, 2).
4 clients in flight, no other load wanted on the machine. Prints the API
server's CPU milliseconds per write. Not a test: it reports figures.
"""
import copy
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time

DIR = sys.argv[1]
KUBECONFIG = os.path.join(DIR, "kubeconfig")
SERVER = next(l.split("server:")[1].strip() for l in open(KUBECONFIG) if "server:" in l)
PORT = int(SERVER.rsplit(":", 1)[1])
APISERVER = int(
    subprocess.run(["pgrep", "-f", f"kube-apiserver.*--secure-port={PORT}"], capture_output=True, text=True).stdout.split()[0]
)
N = int(os.environ.get("BENCH_N", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CLIENTS = 4
NS = "write-cost"
GROUP = "/apis/ecs-bridge.dev/v1alpha1"
BASE = f"{GROUP}/namespaces/{NS}/ecsservices"

tls = ssl.create_default_context(cafile=os.path.join(DIR, "pki/ca.crt"))
tls.load_cert_chain(os.path.join(DIR, "pki/admin.crt"), os.path.join(DIR, "pki/admin.key"))


def connect():
    return http.client.HTTPSConnection("127.0.0.1", PORT, context=tls)


def cpu_seconds():
    fields = open(f"/proc/{APISERVER}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(conn, method, path, body, content_type="application/json"):
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": content_type, "Accept": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data)


def batch(label, write):
    errors = []

    def client(first):
        conn = connect()
        try:
            for i in range(first, N, CLIENTS):
                write(conn, i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    before, started = cpu_seconds(), time.time()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu, wall = cpu_seconds() - before, time.time() - started
    print(f"{label:48s} {1000 * cpu / N:5.2f} ms API server CPU per write ({N / wall:.0f} writes/s)"
          + (f"  FAILED: {errors[0]}" if errors else ""), flush=True)


def condition(type_, status, reason, message):
    return {"type": type_, "status": status, "reason": reason, "message": message, "observedGeneration": 1,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}


ARN = "arn:aws:ecs:us-east-1:000000000000"


def ready_status(k):
    """A status the size of a Ready one-task service's; `k` varies the counts and a message."""
    return {
        "observedGeneration": 1,
        "serviceArn": f"{ARN}:service/default/svc", "clusterArn": f"{ARN}:cluster/default", "status": "ACTIVE",
        "desiredCount": 1, "runningCount": k % 2, "pendingCount": 0,
        "taskDefinitionArn": f"{ARN}:task-definition/app:1", "taskDefinitionRevision": 1,
        "conditions": [
            condition("Ready", "True", "Steady", f"ECS deployment ecs-svc/1 completed: {k % 2} of 1 task(s) running"),
            condition("Synced", "True", "Synced", "ECS matches the spec"),
            condition("Progressing", "False", "RolloutComplete", "No deployment in progress"),
            condition("Degraded", "False", "Healthy", "No failed deployment"),
        ],
        "deployments": [{
            "id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": f"{ARN}:task-definition/app:1",
            "desiredCount": 1, "pendingCount": 0, "runningCount": k % 2, "failedTasks": 0,
            "launchType": "FARGATE", "platformVersion": "1.4.0", "rolloutState": "COMPLETED",
            "rolloutStateReason": "ECS deployment ecs-svc/1 completed.",
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
        }],
        "lastEventId": f"event-{k}", "lastEventTime": "2026-01-01T00:00:00Z",
    }


def name(i):
    return f"{prefix[0]}svc-{i:05}"


versions = {}
rounds = [0]
prefix = [""]


def create(conn, i):
    obj = {"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsService", "metadata": {"name": name(i)},
           "spec": {"cluster": "default", "taskDefinitionRef": {"name": "app"}, "desiredCount": 1,
                    "launchType": "FARGATE",
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0bench0000000001"]}}}}
    request(conn, "PATCH", f"{BASE}/{name(i)}?fieldManager=bench", obj, "application/apply-patch+yaml")


def finalizer(conn, i):
    patch = [{"op": "test", "path": "/metadata/finalizers", "value": None},
             {"op": "add", "path": "/metadata/finalizers", "value": ["ecs-bridge.dev/service"]}]
    request(conn, "PATCH", f"{BASE}/{name(i)}", patch, "application/json-patch+json")


def apply_status(status):
    def write(conn, i):
        body = {"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsService", "status": status(rounds[0])}
        obj = request(conn, "PATCH", f"{BASE}/{name(i)}/status?fieldManager=ecs-bridge-controller&force=true",
                      body, "application/apply-patch+yaml")
        versions[i] = obj["metadata"]["resourceVersion"]
    return write


def patch_status(status):
    """The controller's status write: a JSON patch that adds the whole status, no field validation."""
    def write(conn, i):
        body = [{"op": "add", "path": "/status", "value": status(rounds[0])}]
        obj = request(conn, "PATCH", f"{BASE}/{name(i)}/status?fieldManager=ecs-bridge-controller&fieldValidation=Ignore",
                      body, "application/json-patch+json")
        versions[i] = obj["metadata"]["resourceVersion"]
    return write


def merge_status(conn, i):
    body = {"metadata": {"resourceVersion": versions[i]}, "status": ready_status(rounds[0])}
    obj = request(conn, "PATCH", f"{BASE}/{name(i)}/status?fieldManager=ecs-bridge-controller", body,
                  "application/merge-patch+json")
    versions[i] = obj["metadata"]["resourceVersion"]


def event(conn, i):
    request(conn, "POST", f"/api/v1/namespaces/{NS}/events", {
        "metadata": {"generateName": f"{name(i)}."}, "type": "Normal", "reason": "Created",
        "message": "Created ECS service", "source": {"component": "ecs-bridge"},
        "involvedObject": {"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsService", "namespace": NS,
                           "name": name(i)}})


def one_condition(k):
    return {"observedGeneration": 1, "runningCount": k % 2,
            "conditions": [condition("Ready", "True", "Steady", f"{k % 2} of 1 task(s) running")]}


conn = connect()
request(conn, "POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
print(f"kube-apiserver pid {APISERVER}, {N} EcsServices, {CLIENTS} clients in flight")
# The first status, the controller's way and the former way, each on N new objects.
for r in range(ROUNDS):
    for label, write in [("JSON patch, as the controller", patch_status(ready_status)),
                         ("server-side apply, as before", apply_status(ready_status))]:
        prefix[0] = f"r{r}-{label.split()[0].lower()}-"
        batch("create (server-side apply, as the bench)", create)
        batch("finalizer (JSON patch, as the controller)", finalizer)
        batch(f"first status ({label})", write)
prefix[0] = ""
batch("create (server-side apply, as the bench)", create)
batch("finalizer (JSON patch, as the controller)", finalizer)
batch("first status (JSON patch, as the controller)", patch_status(ready_status))
for _ in range(2):
    for label, write in [("JSON patch", patch_status(ready_status)), ("server-side apply", apply_status(ready_status))]:
        rounds[0] += 1
        batch(f"status again ({label})", write)
for _ in range(2):
    rounds[0] += 1
    batch("status of one condition (JSON patch)", patch_status(one_condition))
rounds[0] += 1
batch("status back to Ready-sized (JSON patch)", patch_status(ready_status))
for _ in range(2):
    rounds[0] += 1
    batch("status again (merge patch + resourceVersion)", merge_status)
batch("Event (POST core/v1)", event)
