import {
  observeWindowOffset,
  observeWindowRect,
  Virtualizer,
  type VirtualizerOptions,
  windowScroll,
} from "@tanstack/virtual-core";
import { useLayoutEffect, useReducer, useState } from "preact/hooks";

type Options = Pick<
  VirtualizerOptions<Window, HTMLElement>,
  "count" | "estimateSize" | "getItemKey" | "overscan" | "scrollMargin"
>;

/**
 * A list that scrolls with the page but keeps only the rows near the viewport in the DOM, so a fleet of
 * thousands renders as fast as a screenful. TanStack's headless virtualizer does the arithmetic (sizes
 * measured as rows render, scroll and resize observed); this hook is the few lines its React adapter would
 * be, for Preact: re-render when the visible range changes, mount and update it with the component.
 */
export function useWindowVirtualizer(options: Options): Virtualizer<Window, HTMLElement> {
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const resolved: VirtualizerOptions<Window, HTMLElement> = {
    getScrollElement: () => window,
    observeElementRect: observeWindowRect,
    observeElementOffset: observeWindowOffset,
    scrollToFn: windowScroll,
    initialOffset: () => window.scrollY,
    ...options,
    onChange: () => rerender(undefined),
  };
  const [virtualizer] = useState(() => new Virtualizer(resolved));
  virtualizer.setOptions(resolved);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());
  return virtualizer;
}
