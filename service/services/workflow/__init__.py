"""The workflow core: definitions, instances, tasks and the queue, moving an instance, scope,
forms, facts and effects, timers."""
