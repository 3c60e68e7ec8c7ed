"""Cluster, cloud and container tools: read-only forms allowed, destructive forms denied."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.guardrails import Policy
from pytest_opsladder.guardrails.policy_load import default_policy


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    (tmp_path / "manifests").mkdir()
    return default_policy(tmp_path)


def line(policy: Policy, command: str) -> str:
    return policy.decide("run_shell", {"command": command}).line()


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("kubectl delete namespace prod", "kubectl delete deletes or evicts cluster resources"),
        ("kubectl -n prod --context=live delete pvc data-0", "kubectl delete deletes"),
        ("kubectl drain node-1 --ignore-daemonsets", "kubectl drain deletes or evicts"),
        ("kubectl scale deploy/api --replicas=0", "kubectl scale --replicas=0 stops every pod"),
        ("kubectl scale --replicas 00 sts/db", "kubectl scale --replicas=0"),
        ("kubectl apply --prune -l app=web -f manifests", "kubectl apply --prune/--force"),
        ("kubectl replace --force -f manifests", "kubectl replace --prune/--force"),
        ("kubectl exec api -- rm -rf /data", "rm -r -f deletes"),
        ("helm uninstall web -n prod", "helm uninstall removes a release"),
        ("helm del web", "helm del removes a release"),
        ("terraform destroy", "terraform destroy deletes every resource"),
        ("terraform -chdir=infra destroy -auto-approve", "terraform destroy deletes"),
        ("terraform apply -auto-approve", "terraform apply -auto-approve changes"),
        ("terraform apply --auto-approve tfplan", "terraform apply -auto-approve changes"),
        ("terraform apply -destroy", "terraform apply -destroy deletes"),
        ("terraform state rm aws_instance.web", "terraform state rm forgets resources"),
        ("terraform workspace delete staging", "terraform workspace delete drops"),
        ("aws s3 rm s3://b/p --recursive", "aws s3 rm --recursive deletes every object"),
        ("aws s3 rm --recur s3://b", "aws s3 rm --recursive"),  # argparse takes prefixes
        ("aws s3 sync . s3://b --delete", "aws s3 sync --delete deletes destination objects"),
        ("aws s3 rb s3://b --force", "aws s3 rb --force deletes the bucket"),
        ("aws ec2 terminate-instances --instance-ids i-1", "aws ec2 terminate-instances deletes"),
        ("aws --region eu-west-1 rds delete-db-instance --db-instance-identifier x", "rds delete"),
        ("aws s3api batch-delete-objects --bucket b", "aws s3api batch-delete-objects"),
        ("gcloud compute instances delete vm-1 --zone z", "gcloud compute instances delete"),
        ("gcloud storage rm --recursive gs://b", "gcloud storage rm -r deletes every object"),
        ("gsutil -m rm -rf gs://b/x", "gsutil rm deletes buckets or every object"),
        ("gsutil rb gs://b", "gsutil rb deletes buckets"),
        ("gsutil rsync -d -r . gs://b", "gsutil rsync -d deletes"),
        ("az group delete --name rg --yes", "az group delete deletes resources"),
        ("az keyvault purge --name kv", "az keyvault purge deletes resources"),
        ("docker system prune -af", "docker system prune deletes every unused object"),
        ("docker volume prune", "docker volume prune deletes every unused volume"),
        ("docker volume rm pgdata", "docker volume rm deletes the volume's data"),
        ("docker rm -f web", "docker rm -f/-v kills running containers"),
        ("docker container rm --volumes web", "docker rm -f/-v"),
        ("docker rmi --force app", "docker rmi -f deletes images still in use"),
        ("docker compose down -v", "docker compose down -v deletes the project's volumes"),
        ("docker-compose down --volumes", "docker-compose compose down -v deletes"),
        ("podman system prune -a", "podman system prune deletes"),
        ("docker exec -it -u root web rm -rf /data", "rm -r -f deletes"),
    ],
)
def test_destructive_forms_are_denied(policy: Policy, command: str, reason: str) -> None:
    found = line(policy, command)
    assert found.startswith("deny "), found
    assert reason in found, found


@pytest.mark.parametrize(
    "command",
    [
        "kubectl get pods -A -o wide",
        "kubectl -n prod get deploy api -o yaml",
        "kubectl describe pod api-7f9",
        "kubectl logs api-7f9 -c app --tail=100 --since=1h",
        "kubectl top pods --containers",
        "kubectl config current-context",
        "kubectl auth can-i delete pods",
        "kubectl delete --help",
        "kubectl get -f manifests",
        "helm list -A",
        "helm status web -n prod",
        "helm get values web",
        "terraform plan -var-file=prod.tfvars -target=module.web",
        "terraform validate -json",
        "terraform show -json tfplan",
        "terraform state list",
        "terraform fmt -check -recursive",
        "terraform output -raw url",
        "terraform destroy -help",
        "aws s3 ls s3://bucket/prefix/ --recursive",
        "aws --region eu-west-1 --output json ec2 describe-instances --instance-ids i-1",
        "aws iam list-users --query Users",
        "aws sts get-caller-identity",
        "aws --version",
        "gcloud compute instances list --format=json --project p",
        "gcloud sql instances describe db",
        "gsutil ls -l gs://bucket",
        "az vm list -g rg -o table",
        "az account show",
        "docker ps -a --no-trunc",
        "docker images -q",
        "docker logs --tail 50 -f web",
        "docker inspect --format '{{.State.Status}}' web",
        "docker image ls",
        "docker volume ls",
        "docker compose ps",
        "docker system df",
        "docker stats --no-stream",
    ],
)
def test_read_only_forms_run_unasked(policy: Policy, command: str) -> None:
    assert (
        line(policy, command) == "allow shell-known-safe: every command on the line is known-safe"
    )


@pytest.mark.parametrize(
    "command",
    [
        "kubectl apply -f manifests",
        "kubectl get pods --kubeconfig manifests/other",  # a kubeconfig can run a program
        "kubectl get pods --server https://10.0.0.1",
        "kubectl config view --raw",  # credentials
        "kubectl exec -it api -- sh",
        "kubectl scale deploy/api --replicas=3",
        "kubectl cordon node-1",
        "helm upgrade --install web ./chart",
        "helm list --kubeconfig x",
        "terraform apply",
        "terraform init",
        "terraform fmt",
        "terraform plan -generate-config-out=gen.tf",
        "terraform console",
        "aws s3 cp a s3://b/a",
        "aws s3 rm s3://b/one.txt",
        "aws ec2 terminate-instances --instance-ids i-1 --dry-run",
        "aws s3 ls --endpoint-url http://attacker.example",
        "aws secretsmanager get-secret-value --secret-id x",
        "gcloud compute instances create vm",
        "gcloud compute instances list --impersonate-service-account=x",
        "gsutil cp a gs://b",
        "az vm start -g rg -n vm",
        "docker run --rm alpine echo hi",
        "docker rm web",
        "docker -H tcp://10.0.0.1:2375 ps",
        "docker --context prod ps",
        "docker compose down",
        "docker stats",  # never returns
        "docker exec web cp x /etc/",  # a path in the container, not outside the workspace
        "gcloud compute instances create vm list",  # creates an instance named 'list'
        "gcloud compute instances stop list --zone z",
        "gcloud newproduct things list",  # a group nobody listed
        "kubectl get --raw /api/v1/namespaces/x/services/app:80/proxy/admin",
        "kubectl get pods --cache-dir=cache",  # writes there
        "helm list --repository-config repos.yaml",
        "terraform providers mirror mirror-dir",
        "terraform providers lock",
        "terraform plan -out=README.md",  # overwrites the file it names
        "kubectl get pods -o go-template-file=/etc/shadow",  # reads outside the workspace
    ],
)
def test_everything_else_asks(policy: Policy, command: str) -> None:
    assert line(policy, command).startswith("ask "), line(policy, command)


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("sudo -u root bash -c 'kubectl delete ns prod'", "deny"),
        ("timeout 60 terraform destroy -auto-approve", "deny"),
        ("env AWS_PROFILE=prod aws s3 rm s3://b --recursive", "deny"),
        ("watch -n 5 docker system prune -af", "deny"),
        ("kubectl get pods && kubectl delete pod x", "deny"),
        ("timeout 10 kubectl get pods", "allow"),
        ("terraform plan -out=/tmp/x.plan", "deny"),  # writes outside the workspace
    ],
)
def test_wrapped_and_chained_forms_are_decided_by_what_runs(
    policy: Policy, command: str, verdict: str
) -> None:
    assert line(policy, command).split()[0] == verdict, line(policy, command)
