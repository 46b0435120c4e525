#!/usr/bin/env bash
# The Amazon ECS overview's commands, run with the AWS CLI against the
# emulator at $ECS_ENDPOINT; every step checks the command's output, not just
# its exit code. Run by tests/emulator/aws_cli.rs (which starts the emulator).
set -euo pipefail
: "${ECS_ENDPOINT:?set ECS_ENDPOINT to the emulator, e.g. http://127.0.0.1:4566}"

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=example-secret
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ecs() { aws --endpoint-url "$ECS_ENDPOINT" ecs "$@"; }
check() { # what expected actual
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1: expected [$2], got [$3]" >&2
    exit 1
  fi
  echo "ok: $1"
}
tab=$'\t'
# Polls until the service's PRIMARY deployment is COMPLETED (30 s at most).
wait_rollout_completed() { # service
  for _ in $(seq 1 60); do
    [[ "$(ecs describe-services --cluster overview --services "$1" --query 'services[0].deployments[0].rolloutState' --output text)" == COMPLETED ]] && return
    sleep 0.5
  done
}
prefix="arn:aws:ecs:us-east-1:000000000000"

# create-cluster
cluster_arn="$(ecs create-cluster --cluster-name overview --query cluster.clusterArn --output text)"
check "create-cluster ARN" "$prefix:cluster/overview" "$cluster_arn"

# register-task-definition --cli-input-json: nginx for EC2/bridge
cat >"$work/nginx-ec2.json" <<'JSON'
{
  "family": "nginx-ec2",
  "networkMode": "bridge",
  "requiresCompatibilities": ["EC2"],
  "containerDefinitions": [
    {
      "name": "nginx",
      "image": "public.ecr.aws/nginx/nginx:latest",
      "cpu": 256,
      "memory": 512,
      "essential": true,
      "portMappings": [{ "containerPort": 80, "hostPort": 80, "protocol": "tcp" }]
    }
  ]
}
JSON
out="$(ecs register-task-definition --cli-input-json "file://$work/nginx-ec2.json" --query 'taskDefinition.[family,revision,status,networkMode]' --output text)"
check "register-task-definition (EC2/bridge)" "nginx-ec2${tab}1${tab}ACTIVE${tab}bridge" "$out"

# ... and for Fargate/awsvpc
cat >"$work/nginx-fargate.json" <<'JSON'
{
  "family": "nginx-fargate",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole",
  "containerDefinitions": [
    {
      "name": "nginx",
      "image": "public.ecr.aws/nginx/nginx:latest",
      "essential": true,
      "portMappings": [{ "containerPort": 80, "protocol": "tcp" }]
    }
  ]
}
JSON
out="$(ecs register-task-definition --cli-input-json "file://$work/nginx-fargate.json" --query 'taskDefinition.[family,revision,cpu,memory]' --output text)"
check "register-task-definition (Fargate/awsvpc)" "nginx-fargate${tab}1${tab}256${tab}512" "$out"

# list-task-definitions
out="$(ecs list-task-definitions --query 'taskDefinitionArns' --output text)"
check "list-task-definitions" "$prefix:task-definition/nginx-ec2:1${tab}$prefix:task-definition/nginx-fargate:1" "$out"

# describe-task-definition (JSON checked with python)
ecs describe-task-definition --task-definition nginx-fargate --output json >"$work/td.json"
python3 - "$work/td.json" <<'PY'
import json, sys
td = json.load(open(sys.argv[1]))["taskDefinition"]
assert td["compatibilities"] == ["EC2", "FARGATE"], td["compatibilities"]
assert td["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 80, td
assert td["executionRoleArn"].endswith("role/ecsTaskExecutionRole"), td
assert isinstance(td["registeredAt"], (int, float)) or "T" in td["registeredAt"], td
PY
echo "ok: describe-task-definition"

# an unknown task definition is ECS's ClientException
if ecs describe-task-definition --task-definition no-such-family >/dev/null 2>"$work/err"; then
  echo "FAIL: describe-task-definition of an unknown family succeeded" >&2
  exit 1
fi
grep -q "ClientException" "$work/err" || { cat "$work/err" >&2; echo "FAIL: expected ClientException" >&2; exit 1; }
echo "ok: describe-task-definition error"

# a container instance for the EC2 task (what the ECS agent would register)
instance_arn="$(ecs register-container-instance --cluster overview --query containerInstance.containerInstanceArn --output text)"
[[ "$instance_arn" == "$prefix:container-instance/overview/"* ]] || { echo "FAIL: instance ARN $instance_arn" >&2; exit 1; }
echo "ok: register-container-instance"

# create-service (Fargate)
out="$(ecs create-service --cluster overview --service-name web --task-definition nginx-fargate \
  --desired-count 2 --launch-type FARGATE \
  --network-configuration 'awsvpcConfiguration={subnets=[subnet-12345678],securityGroups=[sg-12345678],assignPublicIp=ENABLED}' \
  --query 'service.[serviceArn,status,desiredCount,launchType]' --output text)"
check "create-service" "$prefix:service/overview/web${tab}ACTIVE${tab}2${tab}FARGATE" "$out"

# wait services-stable: the scheduler starts both tasks on the real clock. Like
# ECS's own waiter, it checks only one deployment and runningCount == desiredCount,
# not rolloutState: a first deployment whose tasks run but are not healthy yet
# (--task-healthy-seconds) is "stable" while still IN_PROGRESS, so wait on the
# rollout too (a few seconds at most).
ecs wait services-stable --cluster overview --services web
wait_rollout_completed web
out="$(ecs describe-services --cluster overview --services web --query 'services[0].[runningCount,pendingCount,length(deployments),deployments[0].rolloutState]' --output text)"
check "services-stable after create-service" "2${tab}0${tab}1${tab}COMPLETED" "$out"
out="$(ecs describe-services --cluster overview --services web --query 'services[0].events[0].message' --output text)"
check "steady-state event" "(service web) has reached a steady state." "$out"
deployment="$(ecs describe-services --cluster overview --services web --query 'services[0].deployments[0].id' --output text)"
out="$(ecs describe-services --cluster overview --services web --query 'services[0].events[1].message' --output text)"
check "deployment-completed event" "(service web) (deployment $deployment) deployment completed." "$out"
out="$(ecs describe-services --cluster overview --services web --query 'services[0].events[-1].message' --output text)"
[[ "$out" == "(service web) has started 2 tasks: (task "*") (task "*")." ]] || { echo "FAIL: first event [$out]" >&2; exit 1; }
echo "ok: has-started event"

# update-service (scale)
out="$(ecs update-service --cluster overview --service web --desired-count 3 --query 'service.desiredCount' --output text)"
check "update-service" "3" "$out"

# describe-services: the new task is on its way; scaling is no new deployment
out="$(ecs describe-services --cluster overview --services web --query 'services[0].[serviceName,desiredCount,length(deployments),deployments[0].id]' --output text)"
check "describe-services" "web${tab}3${tab}1${tab}$deployment" "$out"

# list-tasks
out="$(ecs list-tasks --cluster overview --service-name web --query 'length(taskArns)' --output text)"
check "list-tasks" "3" "$out"

# describe-tasks (wait tasks-running first)
task="$(ecs list-tasks --cluster overview --service-name web --query 'taskArns[0]' --output text)"
ecs wait tasks-running --cluster overview --tasks "$task"
out="$(ecs describe-tasks --cluster overview --tasks "$task" --query 'tasks[0].[lastStatus,desiredStatus,group,launchType,startedBy]' --output text)"
check "describe-tasks" "RUNNING${tab}RUNNING${tab}service:web${tab}FARGATE${tab}$deployment" "$out"
ecs describe-tasks --cluster overview --tasks "$task" --output json >"$work/task.json"
python3 - "$work/task.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tasks"][0]
for key in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "connectivityAt"):
    assert key in t, (key, t)
assert t["createdAt"] <= t["pullStartedAt"] <= t["pullStoppedAt"] <= t["startedAt"], t
assert t["connectivity"] == "CONNECTED", t
assert t["containers"][0]["lastStatus"] == "RUNNING", t
assert t["attachments"][0]["status"] == "ATTACHED", t
PY
echo "ok: task timestamps"

# a new task-definition revision rolls out as a new deployment
out="$(ecs register-task-definition --cli-input-json "file://$work/nginx-fargate.json" --query 'taskDefinition.revision' --output text)"
check "register-task-definition revision 2" "2" "$out"
out="$(ecs update-service --cluster overview --service web --task-definition nginx-fargate:2 --query 'length(service.deployments)' --output text)"
check "update-service --task-definition starts a deployment" "2" "$out"
ecs wait services-stable --cluster overview --services web
wait_rollout_completed web
out="$(ecs describe-services --cluster overview --services web --query 'services[0].[runningCount,length(deployments),deployments[0].taskDefinition,deployments[0].rolloutState]' --output text)"
check "services-stable after the task-definition update" "3${tab}1${tab}$prefix:task-definition/nginx-fargate:2${tab}COMPLETED" "$out"
new_deployment="$(ecs describe-services --cluster overview --services web --query 'services[0].deployments[0].id' --output text)"
[[ "$new_deployment" != "$deployment" ]] || { echo "FAIL: no new deployment id" >&2; exit 1; }
ecs describe-services --cluster overview --services web --query 'services[0].events[].message' --output json >"$work/events.json"
python3 - "$work/events.json" "$new_deployment" <<'PY'
import json, sys
events, new = json.load(open(sys.argv[1])), sys.argv[2]
assert events[0] == "(service web) has reached a steady state.", events[:3]
assert events[1] == f"(service web) (deployment {new}) deployment completed.", events[:3]
stopped = [e for e in events if e.startswith("(service web) has stopped ")]
assert sum(int(e.split()[4]) for e in stopped) == 3, stopped
assert len(events) <= 100
PY
echo "ok: rolling-update events"

# run-task (EC2/bridge, placed on the registered instance)
out="$(ecs run-task --cluster overview --task-definition nginx-ec2 --count 1 --query 'tasks[0].[lastStatus,containerInstanceArn]' --output text)"
check "run-task" "PENDING${tab}$instance_arn" "$out"
run_task="$(ecs list-tasks --cluster overview --family nginx-ec2 --query 'taskArns[0]' --output text)"
ecs wait tasks-running --cluster overview --tasks "$run_task"
out="$(ecs describe-tasks --cluster overview --tasks "$run_task" --query 'tasks[0].[lastStatus,containers[0].networkBindings[0].hostPort]' --output text)"
check "run-task reaches RUNNING" "RUNNING${tab}80" "$out"

# stop-task
out="$(ecs stop-task --cluster overview --task "$run_task" --reason "overview done" --query 'task.[desiredStatus,stopCode,stoppedReason]' --output text)"
check "stop-task" "STOPPED${tab}UserInitiated${tab}overview done" "$out"
ecs wait tasks-stopped --cluster overview --tasks "$run_task"
out="$(ecs describe-tasks --cluster overview --tasks "$run_task" --query 'tasks[0].[lastStatus,containers[0].exitCode]' --output text)"
check "tasks-stopped" "STOPPED${tab}0" "$out"

# tag-resource (+ list-tags-for-resource to see it)
ecs tag-resource --resource-arn "$cluster_arn" --tags key=env,value=demo key=team,value=platform
out="$(ecs list-tags-for-resource --resource-arn "$cluster_arn" --query 'tags[?key==`env`].value' --output text)"
check "tag-resource" "demo" "$out"

# deregister-task-definition
out="$(ecs deregister-task-definition --task-definition nginx-ec2:1 --query 'taskDefinition.status' --output text)"
check "deregister-task-definition" "INACTIVE" "$out"
out="$(ecs list-task-definitions --status INACTIVE --query 'taskDefinitionArns' --output text)"
check "list-task-definitions --status INACTIVE" "$prefix:task-definition/nginx-ec2:1" "$out"

# delete-service
out="$(ecs delete-service --cluster overview --service web --force --query 'service.status' --output text)"
check "delete-service" "DRAINING" "$out"
for _ in $(seq 60); do
  out="$(ecs describe-services --cluster overview --services web --query 'services[0].status' --output text)"
  [[ "$out" == "INACTIVE" ]] && break
  sleep 0.5
done
check "service after delete (its tasks stopped)" "INACTIVE" "$out"

# delete-cluster (after the instance leaves)
ecs deregister-container-instance --cluster overview --container-instance "$instance_arn" >/dev/null
out="$(ecs delete-cluster --cluster overview --query 'cluster.status' --output text)"
check "delete-cluster" "INACTIVE" "$out"

echo "overview: all checks passed"
