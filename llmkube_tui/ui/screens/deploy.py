"""Deploy a model from the catalog: a Model and an InferenceService where
LLMKube is installed, otherwise our Deployment and Service (backend.deploy
decides, as the CLI's `deploy` does)."""

from __future__ import annotations

from collections.abc import Mapping

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Integer, Regex
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from llmkube_tui.backend.config import Config
from llmkube_tui.backend.connection import Connection
from llmkube_tui.backend.deploy import DeployRequest, DeployResult, deploy, object_name
from llmkube_tui.backend.errors import Invalid
from llmkube_tui.backend.quantity import format_bytes
from llmkube_tui.catalog import CatalogEntry
from llmkube_tui.ui.screens.action import ActionScreen, status_line
from llmkube_tui.ui.widgets.catalog_picker import CatalogPicker

# The same rule DeployRequest.validate applies, checked as the name is typed.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
MAX_REPLICAS = 10


class DeployScreen(ActionScreen[DeployResult]):
    ACTION = "deploy"

    def __init__(
        self,
        connection: Connection,
        config: Config,
        namespace: str,
        catalog: Mapping[str, CatalogEntry],
        *,
        model: str | None = None,
    ) -> None:
        super().__init__(connection, namespace)
        self.config = config
        self.catalog = catalog
        self.model = model

    def compose(self) -> ComposeResult:
        with Vertical(id="action-dialog", classes="deploy"):
            yield Static("Deploy a model", classes="action-title")
            yield CatalogPicker(self.catalog, id="deploy-catalog")
            yield Static("", id="deploy-needs", markup=False)
            with Horizontal(classes="fields"):
                with Vertical(classes="field wide"):
                    yield Label("name")
                    yield Input(
                        id="deploy-name",
                        validators=[
                            Regex(
                                DNS_LABEL, failure_description="lower-case letters, digits and '-'"
                            )
                        ],
                    )
                with Vertical(classes="field wide"):
                    yield Label("namespace")
                    yield Input(
                        self.namespace,
                        id="deploy-namespace",
                        validators=[Regex(DNS_LABEL, failure_description="not a namespace name")],
                    )
                with Vertical(classes="field narrow"):
                    yield Label("replicas")
                    yield Input(
                        "1",
                        id="deploy-replicas",
                        type="integer",
                        validators=[
                            Integer(0, MAX_REPLICAS, failure_description=f"0 to {MAX_REPLICAS}")
                        ],
                    )
                with Vertical(classes="field toggle"):
                    yield Label("GPU")
                    yield Checkbox("request", id="deploy-gpu")
            yield status_line()
            with Horizontal(classes="buttons"):
                yield Button("Deploy", id="deploy-go", variant="primary")
                yield Button("Cancel", id="action-cancel")

    def ready(self) -> None:
        picker = self.query_one(CatalogPicker)
        if self.model:
            picker.select(self.model)
        picker.focus()
        self._picked(picker.selected)

    @property
    def picked(self) -> CatalogEntry | None:
        return self.query_one(CatalogPicker).selected

    def _picked(self, entry: CatalogEntry | None) -> None:
        if entry is None:
            return
        self.query_one("#deploy-name", Input).value = object_name(entry.name)
        # A model that needs GPUs gets them unless the operator says otherwise.
        gpu = self.query_one("#deploy-gpu", Checkbox)
        gpu.value = entry.gpu_count > 0
        count = max(entry.gpu_count, 1)
        gpu.label = f"{count} GPU{'s' if count > 1 else ''}"
        gpus = (
            f"needs {entry.gpu_count} GPU{'s' if entry.gpu_count > 1 else ''}, "
            f"{entry.gpu_memory_gb} GB of GPU memory"
            if entry.gpu_count
            else f"runs on CPU (about {entry.gpu_memory_gb} GB of memory on a GPU)"
        )
        self.query_one("#deploy-needs", Static).update(
            f"{entry.display_name}: {format_bytes(entry.size_bytes)} in the cache, {gpus}"
        )

    @on(DataTable.RowHighlighted, "#deploy-catalog")
    def _highlighted(self) -> None:
        self._picked(self.picked)

    @on(Input.Changed, "#deploy-namespace")
    def _namespace_changed(self, event: Input.Changed) -> None:
        # The access check was for the namespace the modal opened with;
        # for another one, the API server's answer decides.
        if event.value != self.namespace and self.denied:
            self.allow()

    @on(DataTable.RowSelected, "#deploy-catalog")
    def _chosen(self) -> None:
        self.query_one("#deploy-name", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#deploy-go")
    def _submit(self) -> None:
        try:
            request = self.request()
        except Invalid as err:
            self.failed(str(err))
            return
        where = f"{request.name} in {request.namespace}"
        self.start(f"deploying {where}...", lambda _: self._deploy(request), self._deployed)

    @on(Button.Pressed, "#action-cancel")
    def _cancel(self) -> None:
        self.action_close()

    def request(self) -> DeployRequest:
        """The form as a DeployRequest; Invalid names the field at fault."""
        entry = self.picked
        if entry is None:
            raise Invalid("pick a model from the catalog")
        for field in ("name", "namespace", "replicas"):
            box = self.query_one(f"#deploy-{field}", Input)
            checked = box.validate(box.value)
            if checked is not None and not checked.is_valid:
                why = "; ".join(checked.failure_descriptions)
                raise Invalid(f"{field} {box.value!r}: {why}")
        gpu = self.query_one("#deploy-gpu", Checkbox).value
        request = DeployRequest(
            name=self.query_one("#deploy-name", Input).value,
            source=entry.source,
            namespace=self.query_one("#deploy-namespace", Input).value,
            replicas=int(self.query_one("#deploy-replicas", Input).value),
            gpu=gpu,
            gpu_count=max(entry.gpu_count, 1),
            sha256=entry.sha256,
            quantization=entry.quantization,
        )
        request.validate()
        return request

    def _deploy(self, request: DeployRequest) -> DeployResult:
        return deploy(self.connection, self.config, request)

    def _deployed(self, result: DeployResult) -> None:
        lines = [f"{result.name} in {result.namespace} ({result.mode} mode)"]
        lines.append("created " + ", ".join(result.objects))
        if result.volume is not None:
            state = "created" if result.volume.created else "exists"
            lines.append(f"cache volume {result.volume.volume.name}: {state}")
            lines += [f"note: {d}" for d in result.volume.differences]
        self.finish(
            "\n".join(lines), result, warning=bool(result.volume and result.volume.differences)
        )

    def set_busy(self, busy: bool) -> None:
        for widget in self.query("Input, Checkbox, CatalogPicker, #deploy-go"):
            widget.disabled = busy
