"""The long-running service: ``tbtwatch serve``.

One process runs an APScheduler with a persistent job store (``$TBTWATCH_HOME/scheduler.sqlite``) and, unless
``--no-web``, the web app. Modules, one job each:

* :mod:`~tbtwatch.service.schedule`: the scheduler, its job store and the jobs wanted by the configuration
  (one crawl job per enabled source, digests, reminders, source health, retraining), kept in sync at start;
* :mod:`~tbtwatch.service.jobs`: the job functions the store refers to by name;
* :mod:`~tbtwatch.service.health`: expected cadence and failures in a row per source; one operator alarm per
  episode, persisted, and a "recovered" note when the source is healthy again;
* :mod:`~tbtwatch.service.operator`: operator messages, queued in the alerts outbox like any digest;
* :mod:`~tbtwatch.service.runtime`: what running jobs share (settings, the stop signal, locks);
* :mod:`~tbtwatch.service.server`: start, signals and graceful shutdown; ``--once``;
* :mod:`~tbtwatch.service.status`: ``tbtwatch sources status``.
"""
