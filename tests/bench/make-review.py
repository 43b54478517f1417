#!/usr/bin/env python3
"""Generate review-4k.json: a realistic AdmissionReview v1 (CREATE of a batch/v1 Job),
compact JSON as kube-apiserver sends it (defaults applied, managedFields present).
Usage: make-review.py [TARGET_BYTES] > file   (pads env/args to approach the target size)

tests/data/bench/review-4k.json and review-8k.json are its output for 4096 and 8192;
tests/bench/bodies.py loads review() from here for the scaling bodies."""
import json, sys

target = int(sys.argv[1]) if len(sys.argv) > 1 else 4096

def job(n_env):
    env = [{"name": "REPORT_BUCKET", "value": "s3://acme-reports-prod/nightly"},
           {"name": "LOG_LEVEL", "value": "info"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "reports-db", "key": "password"}}}]
    env += [{"name": "FEATURE_FLAG_%02d" % i, "value": "enabled"} for i in range(n_env)]
    return {
        "kind": "Job", "apiVersion": "batch/v1",
        "metadata": {
            "name": "nightly-report-28391040", "namespace": "reporting",
            "creationTimestamp": None,
            "labels": {"app.kubernetes.io/name": "nightly-report", "app.kubernetes.io/part-of": "reporting",
                       "team": "data-platform"},
            "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-05-14T02:00:00Z"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly-report",
                                 "uid": "5b0c2a3e-8d7f-4c1e-9a61-2f3d4b5c6d7e", "controller": True,
                                 "blockOwnerDeletion": True}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "batch/v1",
                               "time": "2024-05-14T02:00:00Z", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:batch.kubernetes.io/cronjob-scheduled-timestamp": {}},
                                                           "f:labels": {".": {}, "f:team": {}},
                                                           "f:ownerReferences": {".": {}, "k:{\"uid\":\"5b0c2a3e-8d7f-4c1e-9a61-2f3d4b5c6d7e\"}": {}}},
                                            "f:spec": {"f:backoffLimit": {}, "f:completionMode": {}, "f:completions": {},
                                                       "f:parallelism": {}, "f:suspend": {}, "f:template": {}}}}]},
        "spec": {
            "parallelism": 1, "completions": 1, "activeDeadlineSeconds": 3600, "backoffLimit": 3,
            "completionMode": "NonIndexed", "suspend": False,
            "template": {
                "metadata": {"creationTimestamp": None,
                             "labels": {"app.kubernetes.io/name": "nightly-report", "job-name": "nightly-report-28391040"}},
                "spec": {
                    "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "2Gi"}},
                                {"name": "config", "configMap": {"name": "nightly-report-config", "defaultMode": 420}}],
                    "initContainers": [{"name": "wait-db", "image": "registry.example.com/tools/wait-for:1.4.2",
                                        "args": ["--host=reports-db.reporting.svc", "--port=5432", "--timeout=120s"],
                                        "resources": {"limits": {"cpu": "100m", "memory": "32Mi"}},
                                        "terminationMessagePath": "/dev/termination-log",
                                        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
                    "containers": [
                        {"name": "report", "image": "registry.example.com/data/nightly-report:2024.05.1",
                         "command": ["/app/report"], "args": ["--date=yesterday", "--format=parquet", "--out=/scratch"],
                         "env": env,
                         "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                         "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"},
                                          {"name": "config", "readOnly": True, "mountPath": "/etc/report"}],
                         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                         "imagePullPolicy": "IfNotPresent"},
                        {"name": "uploader", "image": "registry.example.com/tools/uploader:3.2.0",
                         "args": ["--watch=/scratch", "--dest=$(REPORT_BUCKET)"],
                         "resources": {},
                         "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                         "imagePullPolicy": "IfNotPresent"}],
                    "restartPolicy": "Never", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": "nightly-report", "serviceAccount": "nightly-report",
                    "securityContext": {}, "schedulerName": "default-scheduler"}}},
        "status": {}}

def review(n_env):
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
            "request": {"uid": "0df28fbd-5f5f-11e8-bc74-36e6bb280816",
                        "kind": {"group": "batch", "version": "v1", "kind": "Job"},
                        "resource": {"group": "batch", "version": "v1", "resource": "jobs"},
                        "requestKind": {"group": "batch", "version": "v1", "kind": "Job"},
                        "requestResource": {"group": "batch", "version": "v1", "resource": "jobs"},
                        "name": "nightly-report-28391040", "namespace": "reporting", "operation": "CREATE",
                        "userInfo": {"username": "system:serviceaccount:kube-system:cronjob-controller",
                                     "uid": "8c1d6f0a-2b3e-4f5a-9c7d-1e2f3a4b5c6d",
                                     "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system",
                                                "system:authenticated"]},
                        "object": job(n_env), "oldObject": None, "dryRun": False,
                        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}}

n = 0
while len(json.dumps(review(n + 1), separators=(",", ":"))) <= target:
    n += 1
sys.stdout.write(json.dumps(review(n), separators=(",", ":")))
