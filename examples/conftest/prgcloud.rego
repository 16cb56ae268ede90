# A Rego policy for examples/policy.d/90-conftest: conftest runs it on the document prgcloud
# hands every policy hook (docs/policy.md). `deny` refuses the request; `warn` only reports.
package prgcloud

import rego.v1

deny contains msg if {
	input.command == "ai custom-jobs create"
	not input.job.labels.team
	msg := "the job has no label team: add --labels=team=NAME"
}

deny contains msg if {
	some pool in input.job.jobSpec.workerPoolSpecs
	to_number(pool.replicaCount) > 4
	msg := sprintf("a worker pool asks for %v replicas; at most 4", [pool.replicaCount])
}

warn contains msg if {
	input.persistentResource == null
	msg := "the job names no persistent resource: it waits for new machines"
}
