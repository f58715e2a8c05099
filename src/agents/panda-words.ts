/**
 * Words that make a message a PanDA one: the systems, the things users handle, the tools. Used to
 * tell a documentation question the router may answer without a model from one a model (or the
 * documents agent's "not covered") should judge, and to keep suggested follow-ups on topic.
 */
export const PANDA_WORDS =
  /\b(?:panda|bigpanda|pilots?|jedi|harvester|rucio|cric|atlas|wlcg|grid|jobs?|tasks?|sites?|queues?|datasets?|containers?|files?|replicas?|errors?|payloads?|logs?|stage[- ]?(?:in|out)|transforms?|athena|brokerage|scouts?|retry|retried|retries|attempts?|storage|proxy|voms|x509|worker nodes?|wms|workflows?|production|analysis|prun|pathena|pbook|phpo|pchain|panda-client|rses?|dids?|scopes?|cvmfs|heartbeats?|idds|hpo|monitor|walltime|memory|cpu|cores?|events?|shares?|priority|priorities|rules?|lifetime|quota|daemons?|reaper|judge|tokens?|oidc|iam|secrets?|checkpoints?|singularity|apptainer|copytools?|lfns?|tarball|sandbox|exhausted|looping|merge|outputs?|inputs?|build job|run job|jobsets?|jeditaskid|pandaid|computingsite|piloterrorcode|exeerrorcode|transexitcode|superstatus|jobstatus)\b/i;
