// Templates compiled ahead of time. The bundle (cli/build.ts) replaces this
// module with one whose map holds every templates/*.hbs as handlebars'
// precompiled code, with renderer.ts's options: compiling them at run time
// took about 0.1 s of every run (a no-change apply renders some fifteen).
// Run from the sources (tsx), the map is empty and renderer.ts compiles each
// template on first use, as before.
export const precompiledTemplates: Readonly<Record<string, unknown>> = {};
