/** What the router shows: an element, and how to refresh it while the page stays open. */
export interface Page {
  el: HTMLElement;
  /** Called at once and then every few seconds; forms leave it out and keep their input. */
  refresh?: () => Promise<void>;
}

/** A page whose content is rebuilt at each refresh. */
export function livePage(build: () => Promise<Node[]>): Page {
  const el = document.createElement('section');
  return {
    el,
    refresh: async () => {
      const nodes = await build();
      el.replaceChildren(...nodes);
    },
  };
}
