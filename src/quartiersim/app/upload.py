"""A file chooser that hands the chosen file's bytes to Python (the browser uploads it
over the page's websocket): the session upload. The server never opens a path a user
typed.

Built on ipyvuetify's ``FileInput`` (the widget solara's ``FileDrop`` extends) with a
labelled ``<v-file-input>``, so a planner can click and choose a file as well as drop one;
the file is read in a thread (reading waits for the chunks the browser sends). Files
larger than ``max_bytes`` are not read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import solara
import traitlets
from ipyvuetify.extra import FileInput

TEMPLATE = r"""
<template>
  <div class="qs-upload">
    <v-file-input v-model="myfiles" :label="label" :accept="accept" :disabled="disabled"
      show-size dense outlined hide-details prepend-icon="mdi-upload" @change="setFiles" />
  </div>
</template>
<script>
module.exports = {
  created() { this.chunk_size = 2 * 1024 * 1024; },
  methods: {
    setFiles(e) {
      if (!e) { this.native_file_info = []; this.file_info = []; return; }
      this.native_file_info = e instanceof File ? [e] : e;
      this.file_info = this.native_file_info.map(({name, size, lastModified, type}) =>
        ({name, size, lastModified, type}));
    },
    jupyter_clear() { this.myfiles = undefined; this.setFiles(false); },
    jupyter_read(chunk) {
      const {id, file_index, offset, length} = chunk;
      let to_do = length; let sub_offset = offset;
      (async () => {
        while (to_do > 0) {
          const sub_length = Math.min(to_do, this.chunk_size);
          const file = this.native_file_info[file_index];
          const buff = await file.slice(sub_offset, sub_offset + sub_length).arrayBuffer();
          this.upload({id, file_index, offset: sub_offset, length: sub_length}, [buff]);
          to_do -= sub_length; sub_offset += sub_length;
        }
      })();
    },
  },
};
</script>
"""


class UploadWidget(FileInput):
    """ipyvuetify's FileInput with a label (one file)."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)


@solara.component
def FileUpload(label: str, on_file: Callable[[str, bytes | None, int], None],
               accept: str = "", max_bytes: int = 1_000_000, disabled: bool = False) -> None:
    """Choose (or drop) one file; ``on_file(name, data, size)`` is called with its bytes,
    or with ``data=None`` when it is larger than ``max_bytes``."""
    info, set_info = solara.use_state(None)
    files, set_files = solara.use_state(None)
    element = UploadWidget.element(label=label, accept=accept, multiple=False, disabled=disabled,
                                   on_file_info=set_info)

    def wire() -> None:
        if not info:
            return
        widget = solara.get_widget(element)
        widget.version += 1  # as solara's FileDrop: a new read after each choice
        widget.reset_stats()
        set_files(widget.get_files())

    solara.use_effect(wire, [info])

    def read(cancel: threading.Event) -> None:
        if not files:
            return
        f = files[0]
        size = int(f["size"])
        if size > max_bytes:
            on_file(f["name"], None, size)
            return
        on_file(f["name"], f["file_obj"].read(), size)

    # not intrusive: loading a session may replace the page this component is on, from
    # within this thread; an intrusive cancel would abort that render half-way
    result = solara.use_thread(read, [files], intrusive_cancel=False)
    if result.error:
        raise result.error
