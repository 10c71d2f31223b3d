"""Generation jobs: the in-process queue and the pipeline that turns a confirmed generation into a video."""
